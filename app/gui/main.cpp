// kvwb: the Qt workbench. Opens on SmolLM2 when its GGUF is in the model cache, else on the demo
// model, with a ready workload; flags preselect a model, workload and budget, start the run at
// once, or take a screenshot / measure replot frame times and quit (for docs and benchmarks).
#include <cstdio>
#include <optional>
#include <utility>

#include <QApplication>
#include <QCommandLineParser>
#include <QPalette>
#include <QStyleFactory>
#include <QTabWidget>
#include <QTimer>

#include "engine/config/run_config_schema.h"
#include "engine/core/error.h"
#include "ui/controller/default_run.h"
#include "ui/controller/run_controller.h"
#include "ui/main_window.h"
#include "ui/models/budget_form_model.h"
#include "ui/widgets/session_panel.h"
#include "ui/widgets/try_panel.h"
#include "ui/widgets/time_plots.h"
#include "ui/widgets/token_view.h"

namespace {

QPalette dark_palette() {
  QPalette p;
  const QColor window(45, 45, 48), base(30, 30, 32), text(220, 220, 220), highlight(60, 120, 200);
  p.setColor(QPalette::Window, window);
  p.setColor(QPalette::WindowText, text);
  p.setColor(QPalette::Base, base);
  p.setColor(QPalette::AlternateBase, window);
  p.setColor(QPalette::Text, text);
  p.setColor(QPalette::Button, window);
  p.setColor(QPalette::ButtonText, text);
  p.setColor(QPalette::ToolTipBase, base);
  p.setColor(QPalette::ToolTipText, text);
  p.setColor(QPalette::Highlight, highlight);
  p.setColor(QPalette::HighlightedText, Qt::white);
  p.setColor(QPalette::Disabled, QPalette::Text, QColor(120, 120, 120));
  p.setColor(QPalette::Disabled, QPalette::ButtonText, QColor(120, 120, 120));
  p.setColor(QPalette::Disabled, QPalette::WindowText, QColor(120, 120, 120));
  return p;
}

// One option per RunConfig schema row that has a flag (the same flags as kvwb-cli's).
void add_config_options(QCommandLineParser& parser) {
  for (const kvwb::ConfigField& f : kvwb::config_fields()) {
    if (f.flag.empty()) continue;
    QStringList names{QString::fromUtf8(f.flag.data(), static_cast<qsizetype>(f.flag.size()))};
    if (f.short_flag != 0) names.prepend(QString(QChar(f.short_flag)));
    parser.addOption(QCommandLineOption(names, QString::fromUtf8(f.help.data(), static_cast<qsizetype>(f.help.size())),
                                        QString::fromUtf8(f.value_name.data(), static_cast<qsizetype>(f.value_name.size()))));
  }
}

kvwb::RunConfig config_from(const QCommandLineParser& args) {
  kvwb::RunConfig c = args.isSet("config") ? kvwb::load_run_config(args.value("config").toStdString())
                                           : kvwb::default_run_config();
  for (const kvwb::ConfigField& f : kvwb::config_fields()) {
    const QString flag = QString::fromUtf8(f.flag.data(), static_cast<qsizetype>(f.flag.size()));
    if (f.flag.empty() || !args.isSet(flag)) continue;
    kvwb::set_config_field(c, f, args.value(flag).toStdString(), "--" + std::string(f.flag));
  }
  kvwb::validate(c, "command line");
  return c;
}

double seconds_option(const QCommandLineParser& args, const char* name) {
  bool ok = false;
  const double v = args.value(name).toDouble(&ok);
  if (!ok || v < 0) kvwb::fail(std::string("--") + name, "not a number of seconds: {}", args.value(name).toStdString());
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName("kvwb");
  QCommandLineParser parser;
  parser.setApplicationDescription("kvwb: tune KV-cache compression of LLM inference, live");
  parser.addHelpOption();
  add_config_options(parser);
  parser.addOptions({
      {"config", "start from a run config (JSON, as `kvwb-cli config export` writes)", "path"},
      {"autostart", "start the run when the window opens"},
      {"reference", "with --autostart: also start the full-KV reference run (accuracy as a fraction of full)"},
      {"dark", "use a dark palette (the plots follow the palette)"},
      {"screenshot", "save the window to this PNG when the run finishes (or after --quit-after), then quit",
       "png"},
      {"frame-stats", "print replot frame times (ms) of the live plots when quitting"},
      {"quit-after", "quit after this many seconds", "seconds"},
      {"try", "open on the Try tab and run this prompt (with --screenshot: shot when both answers are in)", "prompt"},
      {"time-window", "seconds of the followed time axis (0 = the whole run, the default)", "seconds"},
      {"retune", "after SECONDS, set the budget to TOKENS and apply it live (demos, screenshots)", "seconds:tokens"},
      {"sessions", "open on the Sessions tab with this session database", "db"},
      {"reopen", "with --sessions: reopen this session (with --screenshot: shot when it is shown)", "id"},
      {"compare", "with --sessions: compare these two sessions, e.g. 3,4 (with --screenshot: shot when shown)", "a,b"},
      {"view", "with --reopen or --compare: show this view (run, comparison, timeline, tokens)", "name"},
      {"live-view", "the Live tab's side view: tokens (the token view, the default) or heads (retention map)", "name"},
      {"token-request", "the traced request the Live tab's token view shows once it is there", "id"},
  });
  parser.process(app);

  kvwb::RunConfig config;
  std::optional<double> quit_after;
  std::optional<std::pair<double, qlonglong>> retune;
  try {
    config = config_from(parser);
    if (parser.isSet("quit-after")) quit_after = seconds_option(parser, "quit-after");
    if (parser.isSet("retune")) {
      const QStringList parts = parser.value("retune").split(':');
      bool ok_s = false, ok_t = false;
      if (parts.size() == 2) retune = std::make_pair(parts[0].toDouble(&ok_s), parts[1].toLongLong(&ok_t));
      if (!ok_s || !ok_t) kvwb::fail("--retune", "expected SECONDS:TOKENS, got '{}'", parser.value("retune").toStdString());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kvwb: %s\n", e.what());
    return 2;
  }
  if (parser.isSet("dark")) {
    QApplication::setStyle(QStyleFactory::create("Fusion"));
    QApplication::setPalette(dark_palette());
  }

  kvwb::MainWindow window(config);
  window.show();
  if (parser.isSet("time-window")) {
    try {
      window.plots()->set_window_seconds(seconds_option(parser, "time-window"));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "kvwb: %s\n", e.what());
      return 2;
    }
  }
  if (parser.value("live-view") == "heads") window.live_side_tabs()->setCurrentIndex(1);
  if (parser.isSet("token-request")) window.token_view()->prefer_request(parser.value("token-request"));
  if (parser.isSet("autostart")) {
    QTimer::singleShot(0, &window, [&window, reference = parser.isSet("reference")] {
      window.start_run();
      if (reference) window.start_reference();
    });
  }
  const bool try_prompt = parser.isSet("try");
  if (try_prompt) {
    window.tabs()->setCurrentWidget(window.try_panel());
    window.try_panel()->set_prompt(parser.value("try"));
    QTimer::singleShot(0, window.try_panel(), &kvwb::TryPanel::run);
  }

  const bool browse = parser.isSet("sessions");
  if (browse) {
    kvwb::SessionPanel* sessions = window.session_panel();
    window.tabs()->setCurrentWidget(sessions);
    sessions->set_db_path(parser.value("sessions"));
    if (!sessions->open_db()) {
      std::fprintf(stderr, "kvwb: %s\n", qPrintable(sessions->status()));
      return 2;
    }
    const QStringList pair = parser.value("compare").split(',', Qt::SkipEmptyParts);
    if (parser.isSet("compare") && pair.size() != 2) {
      std::fprintf(stderr, "kvwb: --compare: expected two session ids, e.g. 3,4\n");
      return 2;
    }
    const QString view = parser.value("view");
    QObject::connect(sessions, &kvwb::SessionPanel::sessionShown, &window, [sessions, view] {
      if (view == "run") sessions->views()->setCurrentIndex(0);
      if (view == "comparison") sessions->views()->setCurrentIndex(1);
      if (view == "timeline") sessions->views()->setCurrentIndex(2);
      if (view == "tokens") sessions->views()->setCurrentIndex(3);
    });
    if (pair.size() == 2) sessions->compare(pair[0].toLongLong(), pair[1].toLongLong());
    else if (parser.isSet("reopen")) sessions->reopen(parser.value("reopen").toLongLong());
  }

  const QString screenshot = parser.value("screenshot");
  const bool frame_stats = parser.isSet("frame-stats");
  auto finish = [&] {
    window.plots()->refresh_now();
    QApplication::processEvents();  // let the queued replots draw
    if (!screenshot.isEmpty()) {
      if (!window.grab().save(screenshot)) std::fprintf(stderr, "kvwb: %s: cannot write the screenshot\n", qPrintable(screenshot));
      else std::printf("screenshot: %s\n", qPrintable(screenshot));
    }
    if (frame_stats) std::printf("%s\n", window.plots()->frame_stats().summary().c_str());
    std::printf("status: %s\n", qPrintable(window.status_text()));
    std::fflush(stdout);
    QApplication::quit();
  };
  if (!screenshot.isEmpty() && !quit_after && browse) {
    QObject::connect(window.session_panel(), &kvwb::SessionPanel::sessionShown, &window,
                     [&] { QTimer::singleShot(500, &window, finish); });
  } else if (!screenshot.isEmpty() && !quit_after && try_prompt) {
    QObject::connect(window.try_panel(), &kvwb::TryPanel::finished, &window,
                     [&](double) { QTimer::singleShot(300, &window, finish); });
  } else if (!screenshot.isEmpty() && !quit_after) {
    // When the run and its reference (if any) have both ended.
    auto when_done = [&] {
      const kvwb::RunController* c = window.controller();
      if (!kvwb::run_state_active(c->state()) && !kvwb::run_state_active(c->reference_state())) {
        QTimer::singleShot(300, &window, finish);
      }
    };
    QObject::connect(window.controller(), &kvwb::RunController::stateChanged, &window, when_done);
    QObject::connect(window.controller(), &kvwb::RunController::referenceStateChanged, &window, when_done);
  }
  if (retune) {
    QTimer::singleShot(static_cast<int>(retune->first * 1000), &window, [&] {
      if (window.budget()->set_value(kvwb::BudgetFormModel::BudgetTokens, retune->second)) window.apply_budget();
    });
  }
  if (quit_after) QTimer::singleShot(static_cast<int>(*quit_after * 1000), &window, finish);
  return QApplication::exec();
}
