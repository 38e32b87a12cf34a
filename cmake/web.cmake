# The dashboard's files, laid out at build time in
# ${CMAKE_BINARY_DIR}/share/metriflow/web (the Dockerfile copies
# build/share/metriflow to /usr/local/share/metriflow):
#   services/api/web/*          the dashboard itself (HTML, CSS, ES modules)
#   assets/vendor/chart.min.js  Chart.js from Debian's libjs-chart.js
#   assets/vendor/swagger-ui/   Swagger UI from npm swagger-ui-dist, pinned
#                               in tools/web/package-lock.json, npm ci'd
#                               into the build directory
set(MF_WEB_SRC ${PROJECT_SOURCE_DIR}/services/api/web)
set(MF_WEB_OUT ${CMAKE_BINARY_DIR}/share/metriflow/web)
set(MF_WEB_NPM ${CMAKE_BINARY_DIR}/web-npm)

find_file(MF_CHARTJS chart.min.js PATHS /usr/share/javascript/chart.js
          NO_DEFAULT_PATH)
if(NOT MF_CHARTJS)
  message(FATAL_ERROR "Chart.js not found: install libjs-chart.js "
                      "(tools/install-deps)")
endif()
find_program(MF_NPM npm)
if(NOT MF_NPM)
  message(FATAL_ERROR "npm not found: install nodejs (tools/install-deps)")
endif()

file(GLOB_RECURSE mf_web_files CONFIGURE_DEPENDS
     RELATIVE ${MF_WEB_SRC} ${MF_WEB_SRC}/*.html ${MF_WEB_SRC}/*.css
     ${MF_WEB_SRC}/*.js ${MF_WEB_SRC}/*.svg)
set(mf_web_outputs)
foreach(f IN LISTS mf_web_files)
  add_custom_command(
    OUTPUT ${MF_WEB_OUT}/${f}
    COMMAND ${CMAKE_COMMAND} -E copy ${MF_WEB_SRC}/${f} ${MF_WEB_OUT}/${f}
    DEPENDS ${MF_WEB_SRC}/${f})
  list(APPEND mf_web_outputs ${MF_WEB_OUT}/${f})
endforeach()

add_custom_command(
  OUTPUT ${MF_WEB_OUT}/assets/vendor/chart.min.js
  COMMAND ${CMAKE_COMMAND} -E copy ${MF_CHARTJS}
          ${MF_WEB_OUT}/assets/vendor/chart.min.js
  DEPENDS ${MF_CHARTJS}
  COMMENT "Copying Chart.js from libjs-chart.js")
list(APPEND mf_web_outputs ${MF_WEB_OUT}/assets/vendor/chart.min.js)

# npm ci with install scripts off: swagger-ui-dist's only dependency runs a
# usage-reporting script at install time, which is not wanted here.
set(mf_swagger ${MF_WEB_NPM}/node_modules/swagger-ui-dist)
file(MAKE_DIRECTORY ${MF_WEB_NPM})
add_custom_command(
  OUTPUT ${mf_swagger}/swagger-ui-bundle.js ${mf_swagger}/swagger-ui.css
         ${mf_swagger}/LICENSE
  COMMAND ${CMAKE_COMMAND} -E copy
          ${PROJECT_SOURCE_DIR}/tools/web/package.json
          ${PROJECT_SOURCE_DIR}/tools/web/package-lock.json ${MF_WEB_NPM}/
  COMMAND ${CMAKE_COMMAND} -E env SCARF_ANALYTICS=false
          ${MF_NPM} ci --ignore-scripts --no-audit --no-fund
          --loglevel=error
  COMMAND ${CMAKE_COMMAND} -E touch_nocreate ${mf_swagger}/swagger-ui-bundle.js
          ${mf_swagger}/swagger-ui.css ${mf_swagger}/LICENSE
  WORKING_DIRECTORY ${MF_WEB_NPM}
  DEPENDS ${PROJECT_SOURCE_DIR}/tools/web/package.json
          ${PROJECT_SOURCE_DIR}/tools/web/package-lock.json
  COMMENT "npm ci swagger-ui-dist (tools/web/package-lock.json)")
foreach(f IN ITEMS swagger-ui-bundle.js swagger-ui.css LICENSE)
  add_custom_command(
    OUTPUT ${MF_WEB_OUT}/assets/vendor/swagger-ui/${f}
    COMMAND ${CMAKE_COMMAND} -E copy ${mf_swagger}/${f}
            ${MF_WEB_OUT}/assets/vendor/swagger-ui/${f}
    DEPENDS ${mf_swagger}/${f})
  list(APPEND mf_web_outputs ${MF_WEB_OUT}/assets/vendor/swagger-ui/${f})
endforeach()

add_custom_target(metriflow-web ALL DEPENDS ${mf_web_outputs})
