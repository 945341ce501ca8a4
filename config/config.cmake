# envbot_config: libconfig loading and validation (the only user of libconfig).
add_library(envbot_config STATIC config/config.c)
target_link_libraries(envbot_config PUBLIC envbot_util PRIVATE PkgConfig::LIBCONFIG)
