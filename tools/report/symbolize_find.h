/* symbolize_find.h - where a module's separate debug info is: by build-id under the search path's
 * .build-id trees, else by its .gnu_debuglink name; never through debuginfod (a report is
 * offline, and libdw would load libdebuginfod's whole network stack just to ask). */
#ifndef PTMEM_REPORT_SYMBOLIZE_FIND_H
#define PTMEM_REPORT_SYMBOLIZE_FIND_H
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>

/* A Dwfl_Callbacks.find_debuginfo. The debuglink search reads the module's search path from its
 * userdata, which rp_find_debuginfo_set_path sets when the module is reported. */
int rp_find_debuginfo(Dwfl_Module* mod, void** userdata, const char* modname, Dwarf_Addr base,
                      const char* file_name, const char* debuglink_file, GElf_Word debuglink_crc,
                      char** debuginfo_file_name);
/* `debuginfo_path` (libdw's syntax, as in Dwfl_Callbacks) must outlive the module. */
void rp_find_debuginfo_set_path(Dwfl_Module* mod, const char* debuginfo_path);

#endif
