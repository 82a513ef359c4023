# ph_add_plugin(NAME SOURCES...): a plugin shared object NAME.so that
# exports only its descriptor, built against the SDK headers only.
function(ph_add_plugin name)
  add_library(${name} MODULE ${ARGN})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    OUTPUT_NAME ${name}
    C_VISIBILITY_PRESET hidden
    LIBRARY_OUTPUT_DIRECTORY ${PH_PLUGIN_OUTPUT_DIR})
  target_link_libraries(${name} PRIVATE posthorn_sdk)
  target_link_options(${name} PRIVATE -Wl,--no-undefined)
  install(TARGETS ${name} LIBRARY DESTINATION ${PH_INSTALL_PLUGIN_DIR})
endfunction()
