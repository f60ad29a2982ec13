// kura: the backup client. Commands and flags follow restic's where restic has them.
#include <malloc.h>
#include <signal.h>

#include "apps/kura/app.h"

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  // glibc raises its mmap threshold to the size of the largest block freed so far (up to
  // 32 MiB): after scrypt's work area or one pack buffer is freed, every later 16 MiB pack
  // would come from the heap and stay in RSS (measured: 234 MB instead of ~150 MB peak for a
  // 1.4 GB backup). A fixed threshold keeps large buffers in their own mappings.
  ::mallopt(M_MMAP_THRESHOLD, 4 << 20);
  kura::cli::Cli cli;
  return kura::cli::run_kura(cli, argc, argv);
}
