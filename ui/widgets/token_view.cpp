#include "ui/widgets/token_view.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QScrollArea>
#include <QSlider>
#include <QSplitter>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include "ui/models/session_replay.h"
#include "ui/models/token_view_model.h"
#include "ui/widgets/heatmap_plot.h"
#include "ui/widgets/token_text_area.h"

namespace kvwb {

TokenView::TokenView(QWidget* parent) : QWidget(parent) {
  model_ = new TokenViewModel(this);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);

  auto* bar = new QHBoxLayout;
  request_ = new QComboBox(this);
  request_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  request_->setToolTip(tr("The traced request shown (trace_sequences of the run)"));
  heads_ = new QComboBox(this);
  heads_->setToolTip(tr("Shade by the share of every (layer, KV head) that keeps a token, or by one head"));
  heads_->addItem(tr("every head"), -1);
  step_ = new QSlider(Qt::Horizontal, this);
  step_->setToolTip(tr("The steps that evicted something from this request, then its last step"));
  step_->setMinimumWidth(120);
  step_label_ = new QLabel(this);
  bar->addWidget(new QLabel(tr("Request:"), this));
  bar->addWidget(request_);
  bar->addWidget(new QLabel(tr("Heads:"), this));
  bar->addWidget(heads_);
  bar->addWidget(new QLabel(tr("After:"), this));
  bar->addWidget(step_, 1);
  bar->addWidget(step_label_);
  layout->addLayout(bar);

  legend_ = new QLabel(this);
  legend_->setWordWrap(true);  // never what sets the window's width
  layout->addWidget(legend_);

  text_ = new TokenTextArea(model_, this);
  scroll_ = new QScrollArea(this);
  scroll_->setWidget(text_);
  scroll_->setWidgetResizable(true);
  scroll_->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  side_ = new QLabel(this);
  side_->setWordWrap(true);
  side_->setAlignment(Qt::AlignTop | Qt::AlignLeft);
  side_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  side_->setMinimumWidth(160);
  auto* text_row = new QSplitter(Qt::Horizontal, this);
  text_row->addWidget(scroll_);
  text_row->addWidget(side_);
  text_row->setStretchFactor(0, 3);
  text_row->setStretchFactor(1, 1);

  map_ = new HeatmapPlot(tr("token position"), tr("layer × KV heads + head"), QString(), this);
  std::vector<HeatmapPlot::Category> states = eviction_state_categories();
  states.resize(2);  // evicted, kept: the trace says nothing of protection
  map_->set_categories(states);
  map_->set_hover_text([this](int position, int row, double v) {
    if (std::isnan(v)) return QString();
    const int heads = std::max(model_->trace().kv_heads, 1);
    const int32_t at = model_->retention().evicted_at(row, position);
    return tr("layer %1, KV head %2, position %3: %4")
        .arg(row / heads)
        .arg(row % heads)
        .arg(position)
        .arg(v == HeadTimeline::kKept ? tr("kept") : tr("evicted at step %1").arg(at));
  });
  auto* split = new QSplitter(Qt::Vertical, this);
  split->addWidget(text_row);
  split->addWidget(map_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  layout->addWidget(split, 1);

  trace_bar_ = new QWidget(this);
  auto* trace_layout = new QHBoxLayout(trace_bar_);
  trace_layout->setContentsMargins(0, 0, 0, 0);
  traceable_ = new QComboBox(trace_bar_);
  traceable_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  trace_ = new QPushButton(tr("Trace in the next run"), trace_bar_);
  trace_->setToolTip(tr("Adds the request to the run's trace_sequences: its eviction map is kept from the next Start"));
  requested_ = new QLabel(trace_bar_);
  trace_layout->addWidget(new QLabel(tr("Trace request:"), trace_bar_));
  trace_layout->addWidget(traceable_);
  trace_layout->addWidget(trace_);
  trace_layout->addWidget(requested_, 1);
  layout->addWidget(trace_bar_);

  connect(request_, &QComboBox::activated, this, &TokenView::show_request);
  connect(heads_, &QComboBox::activated, this, [this](int i) { set_row(heads_->itemData(i).toInt()); });
  connect(step_, &QSlider::valueChanged, this, [this](int i) {
    if (i < 0 || static_cast<size_t>(i) >= steps_.size()) return;
    model_->set_step(steps_[static_cast<size_t>(i)]);
    update_steps();
    draw_map();
  });
  connect(text_, &TokenTextArea::tokenClicked, this, &TokenView::click_token);
  connect(trace_, &QPushButton::clicked, this, [this] {
    if (!traceable_->currentText().isEmpty()) emit traceRequested(traceable_->currentText());
  });

  const QColor evicted = text_->shade(0.0), half = text_->shade(0.5);
  legend_->setText(tr("Token background: <span style=\"background:%1\">&nbsp;kept by every head&nbsp;</span> "
                      "<span style=\"background:%2\">&nbsp;evicted from half&nbsp;</span> "
                      "<span style=\"background:%3\">&nbsp;evicted from every head&nbsp;</span>; "
                      "hover a token for each head, click it to find it in the map below.")
                       .arg(palette().color(QPalette::Base).name(), half.name(), evicted.name()));
  clear();
}

void TokenView::clear() { set_traces({}); }

void TokenView::set_traces(std::vector<TokenTrace> traces) {
  traces_ = std::move(traces);
  QString current = request_->currentText();
  if (!preferred_.isEmpty() && std::any_of(traces_.begin(), traces_.end(), [&](const TokenTrace& t) {
        return QString::fromStdString(t.request_id) == preferred_;
      })) {
    current = std::exchange(preferred_, QString());
  }
  {
    const QSignalBlocker block(request_);
    request_->clear();
    for (const TokenTrace& t : traces_) request_->addItem(QString::fromStdString(t.request_id));
    const int keep = request_->findText(current);
    request_->setCurrentIndex(keep >= 0 ? keep : 0);
  }
  show_request(request_->currentIndex());
}

void TokenView::prefer_request(const QString& request_id) {
  if (request_->findText(request_id) >= 0) return select_request(request_id);
  preferred_ = request_id;
}

void TokenView::select_request(const QString& request_id) {
  const int i = request_->findText(request_id);
  if (i < 0) return;
  request_->setCurrentIndex(i);
  show_request(i);
}

QString TokenView::request() const { return request_->currentText(); }

void TokenView::show_request(int index) {
  if (index < 0 || static_cast<size_t>(index) >= traces_.size()) {
    model_->clear();
  } else {
    const TokenTrace& t = traces_[static_cast<size_t>(index)];
    if (t.request_id != model_->trace().request_id) focused_ = -1;
    model_->set_trace(t);
  }
  const int rows = model_->retention().rows();
  if (heads_->count() != rows + 1) {
    const QSignalBlocker block(heads_);
    heads_->clear();
    heads_->addItem(tr("every head"), -1);
    const int kv_heads = std::max(model_->trace().kv_heads, 1);
    for (int r = 0; r < rows; ++r) heads_->addItem(tr("layer %1, KV head %2").arg(r / kv_heads).arg(r % kv_heads), r);
  }
  heads_->setCurrentIndex(model_->row() + 1);
  update_steps();
  update_side();
  draw_map();
}

void TokenView::update_steps() {
  steps_ = model_->retention().eviction_steps();
  const int64_t last = model_->last_step();
  if (steps_.empty() || steps_.back() < last) steps_.push_back(last);
  // The stop at or before the model's step.
  const auto at = std::upper_bound(steps_.begin(), steps_.end(), model_->step());
  const int index = std::max(0, static_cast<int>(at - steps_.begin()) - 1);
  {
    const QSignalBlocker block(step_);
    step_->setRange(0, static_cast<int>(steps_.size()) - 1);
    step_->setValue(index);
  }
  step_->setEnabled(steps_.size() > 1);
  step_label_->setText(model_->trace().request_id.empty() ? tr("no traced request yet")
                                                          : tr("step %1 of %2").arg(model_->step()).arg(last));
}

void TokenView::set_step(int64_t step) {
  model_->set_step(step);
  update_steps();
  draw_map();
}

void TokenView::set_row(int row) {
  model_->set_row(row);
  heads_->setCurrentIndex(model_->row() + 1);
}

void TokenView::update_side() {
  const TokenTrace& t = model_->trace();
  if (t.request_id.empty()) {
    side_->setText(tr("No traced request. The run traces the requests in trace_sequences (by default the first two): "
                      "their evictions are followed token by token."));
    return;
  }
  QString html = tr("<b>%1</b>%2<br>").arg(QString::fromStdString(t.request_id).toHtmlEscaped(), t.task.empty() ? QString() : tr(" (task %1)").arg(QString::fromStdString(t.task).toHtmlEscaped()));
  html += tr("%1 prompt tokens, %2 generated<br><br>").arg(t.tokens.prompt_tokens).arg(static_cast<qint64>(t.tokens.ids.size()) - t.tokens.prompt_tokens);
  if (t.finished) {
    html += tr("<b>Answer</b>%1:<br>%2<br><br>")
                .arg(t.score ? tr(" (score %1)").arg(*t.score, 0, 'f', 2) : QString(), QString::fromStdString(t.answer).toHtmlEscaped());
  } else {
    html += tr("<b>Answer</b>: still generating…<br><br>");
  }
  QStringList expected;
  for (const std::string& a : t.expected) expected << QString::fromStdString(a).toHtmlEscaped();
  html += tr("<b>Expected</b>: %1").arg(expected.isEmpty() ? tr("(not known)") : expected.join(QStringLiteral(", ")));
  side_->setText(html);
}

QString TokenView::answer_text() const { return side_->text(); }

void TokenView::draw_map() {
  const TokenRetention& r = model_->retention();
  const int64_t positions = std::max<int64_t>(r.positions(), model_->rowCount());
  std::vector<double> cells(static_cast<size_t>(r.rows()) * static_cast<size_t>(positions));
  for (int row = 0; row < r.rows(); ++row) {
    for (int64_t p = 0; p < positions; ++p) {
      cells[static_cast<size_t>(row) * static_cast<size_t>(positions) + static_cast<size_t>(p)] =
          r.kept(row, p, model_->step()) ? HeadTimeline::kKept : HeadTimeline::kEvicted;
    }
  }
  map_->set_cells(static_cast<int>(positions), r.rows(), cells);
  if (focused_ >= 0) map_->focus_x(static_cast<double>(focused_), 40);
}

void TokenView::click_token(int64_t position) {
  focused_ = position;
  map_->focus_x(static_cast<double>(position), 40);
  emit tokenClicked(position);
}

void TokenView::set_traceable(const QStringList& request_ids, const QStringList& requested) {
  const QString current = traceable_->currentText();
  traceable_->clear();
  traceable_->addItems(request_ids);
  if (const int i = traceable_->findText(current); i >= 0) traceable_->setCurrentIndex(i);
  requested_->setText(requested.isEmpty() ? QString() : tr("next run traces: %1").arg(requested.join(QStringLiteral(", "))));
}

void TokenView::set_traceable_visible(bool visible) { trace_bar_->setVisible(visible); }

}  // namespace kvwb
