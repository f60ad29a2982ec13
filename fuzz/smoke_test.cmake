# Included from tests/CMakeLists.txt in every build (not only KURA_FUZZ ones): registers the
# ctest test that builds the fuzz targets in their own clang build dir and runs each briefly
# (scripts/fuzz-smoke; exit 77 = skipped when clang or libclang-rt is missing).
add_test(NAME fuzz.smoke COMMAND ${CMAKE_SOURCE_DIR}/scripts/fuzz-smoke)
set_tests_properties(fuzz.smoke PROPERTIES LABELS fuzz TIMEOUT 1500 SKIP_RETURN_CODE 77)
