# cmake/install.cmake - the front door: the `ptmem` wrapper and `cmake --install`.
# scripts/ptmem.in is configured twice (like Mesa's layer manifests): build/ptmem runs the build
# tree's libptmem.so and ptmem-report by absolute path, so tests can use it without installing; the
# installed bin/ptmem finds them relative to itself, so an installed tree can be moved.
# Installed: libptmem.so, libptmem_pools.a, ptmem-report, ptmem, include/ptmem/*.h, the man page,
# ptmem.pc (written at install time, so that --prefix and DESTDIR give it the real prefix) and the
# CMake package (ptmemConfig.cmake with ptmem_add_leak_test, and its version file).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(PTMEM_VERSION ${PROJECT_VERSION})
set(ptmem_front_dir ${CMAKE_BINARY_DIR}/front-door) # intermediate files of this script

# A path of the installed tree as the installed wrapper sees it: relative to bin/ unless the
# directory was given as an absolute path (then an install elsewhere cannot move it anyway).
function(ptmem_path_from_bindir out dir file)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}/${file}" PARENT_SCOPE)
  else()
    file(RELATIVE_PATH rel "/prefix/${CMAKE_INSTALL_BINDIR}" "/prefix/${dir}/${file}")
    set(${out} "${rel}" PARENT_SCOPE)
  endif()
endfunction()

# ---- the wrapper: only where the preload library exists (not in sanitizer builds) ----------------
if(TARGET ptmem)
  set(report_build "")
  set(report_installed "")
  if(TARGET ptmem-report)
    set(report_build "$<TARGET_FILE:ptmem-report>")
    ptmem_path_from_bindir(report_installed "${CMAKE_INSTALL_BINDIR}" "$<TARGET_FILE_NAME:ptmem-report>")
  endif()

  set(PTMEM_WRAPPER_PRELOAD "$<TARGET_FILE:ptmem>")
  set(PTMEM_WRAPPER_REPORT "${report_build}")
  configure_file(${PROJECT_SOURCE_DIR}/scripts/ptmem.in ${ptmem_front_dir}/ptmem.build.in @ONLY)
  file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/ptmem INPUT ${ptmem_front_dir}/ptmem.build.in
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)

  ptmem_path_from_bindir(PTMEM_WRAPPER_PRELOAD "${CMAKE_INSTALL_LIBDIR}" "$<TARGET_FILE_NAME:ptmem>")
  set(PTMEM_WRAPPER_REPORT "${report_installed}")
  configure_file(${PROJECT_SOURCE_DIR}/scripts/ptmem.in ${ptmem_front_dir}/ptmem.install.in @ONLY)
  file(GENERATE OUTPUT ${ptmem_front_dir}/ptmem INPUT ${ptmem_front_dir}/ptmem.install.in)

  install(TARGETS ptmem LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(PROGRAMS ${ptmem_front_dir}/ptmem DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(FILES ${PROJECT_SOURCE_DIR}/docs/ptmem.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()

# ---- libraries, tool, headers ----------------------------------------------------------------------
install(TARGETS ptmem_pools ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
if(TARGET ptmem-report)
  install(TARGETS ptmem-report RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ptmem DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")

# ---- pkg-config --------------------------------------------------------------------------------------
# Everything but the prefix is filled in now; the prefix placeholder survives this pass and is
# filled in by `cmake --install`, which knows the --prefix actually used.
foreach(dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    set(PTMEM_PC_${dir} "${CMAKE_INSTALL_${dir}}")
  else()
    set(PTMEM_PC_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
  endif()
endforeach()
set(PTMEM_PC_PREFIX "@PTMEM_PC_PREFIX@")
set(PTMEM_PC_PRELOAD "")
if(TARGET ptmem)
  set(PTMEM_PC_PRELOAD "preload=\${libdir}/libptmem.so")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/ptmem.pc.in ${ptmem_front_dir}/ptmem.pc.in @ONLY)
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(pc_destination "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
else()
  set(pc_destination "\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig")
endif()
install(CODE "
  set(PTMEM_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${ptmem_front_dir}/ptmem.pc.in\" \"${ptmem_front_dir}/installed/ptmem.pc\" @ONLY)
  file(INSTALL DESTINATION \"${pc_destination}\" TYPE FILE FILES \"${ptmem_front_dir}/installed/ptmem.pc\")
")

# ---- the CMake package: find_package(ptmem) ---------------------------------------------------------
set(ptmem_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/ptmem)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/ptmemConfig.cmake.in ${ptmem_front_dir}/ptmemConfig.cmake
                              INSTALL_DESTINATION ${ptmem_cmake_dir}
                              PATH_VARS CMAKE_INSTALL_BINDIR CMAKE_INSTALL_LIBDIR CMAKE_INSTALL_INCLUDEDIR)
# 0.x: a new minor version may change the interface, so only the same major.minor is compatible.
write_basic_package_version_file(${ptmem_front_dir}/ptmemConfigVersion.cmake VERSION ${PROJECT_VERSION}
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${ptmem_front_dir}/ptmemConfig.cmake ${ptmem_front_dir}/ptmemConfigVersion.cmake
              ${CMAKE_CURRENT_LIST_DIR}/ptmemAddLeakTest.cmake
        DESTINATION ${ptmem_cmake_dir})
