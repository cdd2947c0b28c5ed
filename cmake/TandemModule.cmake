# tandem_add_module(NAME SOURCES...): an in-tree module, built exactly as an
# out-of-tree one would be: a shared library that sees only the public headers.
function(tandem_add_module name)
  add_library(${name} MODULE ${ARGN})
  target_link_libraries(${name} PRIVATE tandem_abi tandem_warnings)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    LIBRARY_OUTPUT_DIRECTORY "${TANDEM_MODULE_OUTPUT_DIR}")
  install(TARGETS ${name} LIBRARY DESTINATION ${TANDEM_MODULE_SUBDIR})
endfunction()
