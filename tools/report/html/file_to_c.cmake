# file_to_c.cmake - writes a C header holding a file's bytes as a NUL-terminated array, so the
# report's page template is part of the binary without xxd or a string literal's length limit.
#   cmake -DIN=report.html -DOUT=report_html_template.h -DNAME=rp_report_html_template -P file_to_c.cmake
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "(..)" "0x\\1," bytes "${hex}")
string(REPEAT "0x..," 16 sixteen) # CMake regexes have no {n}
string(REGEX REPLACE "(${sixteen})" "\\1\n" bytes "${bytes}")
file(WRITE "${OUT}"
     "/* Generated from ${IN} by file_to_c.cmake; edit the template, not this file. */\n"
     "static const unsigned char ${NAME}[] = {\n${bytes}0x00};\n")
