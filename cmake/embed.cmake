# cmake -DIN="<file>[;<file>...]" -DOUT=<file.cc> -DNAME=<symbol> -P embed.cmake
# Writes `extern const char NAME[] = R"...";` holding the files' bytes, concatenated.
set(content "")
foreach(f ${IN})
  file(READ "${f}" part)
  string(APPEND content "${part}\n")
endforeach()
file(WRITE "${OUT}.tmp" "// Generated; do not edit.\nextern const char ${NAME}[];\nconst char ${NAME}[] = R\"KURA_EMBED(${content})KURA_EMBED\";\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
