#include "app/cli/config_flags.h"

#include "engine/config/run_config_schema.h"

namespace kvwb::cli {

void ConfigFlags::add_to(CLI::App& app, const std::set<std::string_view>& left_out) {
  app.add_option("--config,-c", config_path_, "RunConfig JSON file (flags override its values)");
  given_.clear();
  for (const ConfigField& f : config_fields()) {
    if (!f.flag.empty() && left_out.count(f.key) == 0) given_.push_back({f.key, nullptr, {}});
  }
  for (Given& g : given_) {  // the vector no longer grows: the options may keep &g.text
    const ConfigField& f = config_field(g.key);
    std::string names = "--" + std::string(f.flag);
    if (f.short_flag != 0) names += std::string(",-") + f.short_flag;
    g.option = app.add_option(names, g.text, std::string(f.help))->type_name(std::string(f.value_name));
  }
}

RunConfig ConfigFlags::resolve() const {
  RunConfig c = config_path_.empty() ? RunConfig{} : load_run_config(config_path_);
  for (const Given& g : given_) {
    if (g.option->count() == 0) continue;
    const ConfigField& f = config_field(g.key);
    set_config_field(c, f, g.text, "--" + std::string(f.flag));
  }
  validate(c, config_path_.empty() ? "command line" : config_path_);
  return c;
}

}  // namespace kvwb::cli
