# cmake: a cmake -P script of string/list/regex/math work (cmake keeps lists as ;-joined strings,
# so every list operation reallocates and copies), then configuring and building a small generated
# C project: configure runs compiler-detection try_compile projects (cmake, make, gcc, cc1, ld
# children, all preloaded), generation writes the makefiles, make builds an executable which runs.
set -euo pipefail
cat > script.cmake <<'CMAKE'
cmake_minimum_required(VERSION 3.20)
# In-process proof that this cmake runs on ptmem.
file(READ /proc/self/maps maps)
string(FIND "${maps}" libptmem at)
if(at GREATER -1)
  file(APPEND "$ENV{PTMEM_PROBE}" "cmake-P:/proc/self/maps yes\n")
else()
  file(APPEND "$ENV{PTMEM_PROBE}" "cmake-P:/proc/self/maps no\n")
endif()
set(items "")
foreach(i RANGE 1 12000)
  math(EXPR v "(${i} * 7919) % 10007")
  list(APPEND items "item-${v}")
endforeach()
list(LENGTH items n)
list(SORT items)
list(REMOVE_DUPLICATES items)
list(LENGTH items u)
list(SUBLIST items 100 5 some)
message(STATUS "list: ${n} ${u} ${some}")
list(JOIN items "," joined)
string(REGEX REPLACE "item-([0-9]+)" "<\\1>" replaced "${joined}")
string(REGEX MATCHALL "<[0-9]*7>" sevens "${replaced}")
list(LENGTH sevens ns)
string(TOUPPER "${joined}" upper)
string(SHA256 h1 "${replaced}")
string(SHA256 h2 "${upper}")
message(STATUS "regex: ${ns} ${h1} ${h2}")
string(REPEAT "abcdefghij" 100000 big)
string(LENGTH "${big}" bl)
string(REPLACE "e" "EEE" big2 "${big}")
string(LENGTH "${big2}" bl2)
file(WRITE big.txt "${big2}")
file(READ big.txt back)
string(MD5 hb "${back}")
message(STATUS "strings: ${bl} ${bl2} ${hb}")
set(map_keys "")
foreach(i RANGE 1 3000)
  math(EXPR k "${i} % 97")
  set(map_${k} "${map_${k}};${i}")
endforeach()
set(total 0)
foreach(k RANGE 0 96)
  list(LENGTH map_${k} len)
  math(EXPR total "${total} + ${len}")
endforeach()
message(STATUS "vars: ${total}")
CMAKE
echo "== cmake -P"
cmake -P script.cmake

mkdir -p proj/src
cat > proj/CMakeLists.txt <<'CMAKE'
cmake_minimum_required(VERSION 3.20)
project(tiny C)
include(CheckIncludeFile)
include(CheckSymbolExists)
foreach(h stdlib.h string.h pthread.h sys/mman.h no_such_header_ptmem.h)
  string(MAKE_C_IDENTIFIER "HAVE_${h}" var)
  check_include_file(${h} ${var})
endforeach()
check_symbol_exists(posix_memalign stdlib.h HAVE_POSIX_MEMALIGN)
check_symbol_exists(no_such_function_ptmem stdlib.h HAVE_NO_SUCH_FUNCTION)
file(GLOB srcs ${CMAKE_SOURCE_DIR}/src/*.c)
list(SORT srcs)
add_library(parts STATIC ${srcs})
add_executable(tiny main.c)
target_link_libraries(tiny parts)
CMAKE
for i in $(seq 0 19); do
  printf 'int part%d(int x) { int s = 0; for (int i = 0; i < x; i++) s += i * %d; return s; }\n' "$i" "$i" > proj/src/part$i.c
done
{
  echo '#include <stdio.h>'
  for i in $(seq 0 19); do echo "int part$i(int x);"; done
  echo 'int main(void) { long t = 0;'
  for i in $(seq 0 19); do echo "  t += part$i($((i + 100)));"; done
  echo '  printf("tiny: %ld\n", t); return 0; }'
} > proj/main.c
echo "== configure"
cmake -S proj -B build -G "Unix Makefiles" -DCMAKE_BUILD_TYPE=Release
echo "== build"
cmake --build build -j1
echo "== run"
./build/tiny
