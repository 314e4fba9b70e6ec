/* Unit tests of tools/report/util.c: sizes as every report prints them, at the edges where
 * rounding moves a value to the next unit or the next number of digits. */
#include "report_check.h"
#include "util.h"

static void check_bytes(uint64_t bytes, const char* want) {
  char buf[32];
  CHECK_STR(rp_fmt_bytes(bytes, buf), want);
}

static void test_fmt_bytes(void) {
  check_bytes(0, "0 B");
  check_bytes(1023, "1023 B");
  check_bytes(1024, "1.00 KiB");
  check_bytes(10234, "9.99 KiB");
  check_bytes(10235, "10.0 KiB"); /* 9.995 KiB: rounds to 10.0, never "10.00" */
  check_bytes(102348, "99.9 KiB");
  check_bytes(102349, "100 KiB"); /* 99.95 KiB */
  check_bytes(1047552, "1023 KiB");
  check_bytes(1048064, "1.00 MiB"); /* 1023.5 KiB would print as "1024 KiB" */
  check_bytes(1048575, "1.00 MiB");
  check_bytes(1048576, "1.00 MiB");
  check_bytes((uint64_t)1 << 30, "1.00 GiB");
}

int main(void) {
  test_fmt_bytes();
  return 0;
}
