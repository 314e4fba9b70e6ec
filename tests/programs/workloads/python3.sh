# python3: the interpreter's object allocator sits on top of malloc (arenas of 256 KiB, and every
# object above 512 bytes goes straight to malloc/realloc), so millions of objects exercise ptmem.
python3 "$(dirname "${BASH_SOURCE[0]}")/python3.py"
