# embed.cmake - included by tools/CMakeLists.txt after ptmem_report_core is defined: the page
# template report.html becomes report_html_template.h in the build tree, which render_html.c
# includes. Rebuilt whenever the template changes.
set(rp_html_dir ${CMAKE_CURRENT_LIST_DIR})
set(rp_html_gen ${CMAKE_CURRENT_BINARY_DIR}/report_html)
add_custom_command(
  OUTPUT ${rp_html_gen}/report_html_template.h
  COMMAND ${CMAKE_COMMAND} -DIN=${rp_html_dir}/report.html -DOUT=${rp_html_gen}/report_html_template.h
          -DNAME=rp_report_html_template -P ${rp_html_dir}/file_to_c.cmake
  DEPENDS ${rp_html_dir}/report.html ${rp_html_dir}/file_to_c.cmake
  COMMENT "Embedding the HTML report template")
target_sources(ptmem_report_core PRIVATE ${rp_html_gen}/report_html_template.h)
target_include_directories(ptmem_report_core PRIVATE ${rp_html_gen})
