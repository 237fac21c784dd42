#include "ui/widgets/token_text_area.h"

#include <algorithm>
#include <cmath>

#include <QHelpEvent>
#include <QMouseEvent>
#include <QPaintEvent>
#include <QPainter>
#include <QToolTip>

#include "ui/models/token_view_model.h"

namespace kvwb {
namespace {

constexpr int kPad = 4;  // around the text, and the gap between prompt and answer

// Evicted everywhere: the eviction maps' "evicted" orange, so the two views read alike.
const QColor kEvicted(217, 95, 2);

}  // namespace

TokenTextArea::TokenTextArea(TokenViewModel* model, QWidget* parent) : QWidget(parent), model_(model) {
  setMouseTracking(true);
  setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
  connect(model_, &QAbstractItemModel::modelReset, this, &TokenTextArea::relayout);
  connect(model_, &QAbstractItemModel::rowsInserted, this, &TokenTextArea::relayout);
  connect(model_, &QAbstractItemModel::dataChanged, this, [this] { update(); });
}

QColor TokenTextArea::shade(double kept_share) const {
  const QColor base = palette().color(QPalette::Base);
  const double e = std::clamp(1.0 - kept_share, 0.0, 1.0);
  auto mix = [e](int from, int to) { return static_cast<int>(std::lround(from + (to - from) * e)); };
  // 8 bits per channel, as drawn: the colour painted is exactly this one.
  return QColor(mix(base.red(), kEvicted.red()), mix(base.green(), kEvicted.green()), mix(base.blue(), kEvicted.blue()));
}

int TokenTextArea::lay_out(int width, std::vector<Laid>* out) const {
  const QFontMetrics fm(font());
  const int line = fm.height() + 2;
  const int right = std::max(width - kPad, 40);
  int x = kPad, y = kPad;
  bool in_prompt = true;
  const int n = model_->rowCount();
  if (out != nullptr) out->assign(static_cast<size_t>(n), Laid{});
  for (int i = 0; i < n; ++i) {
    const QModelIndex index = model_->index(i);
    const bool prompt = index.data(TokenViewModel::kIsPromptRole).toBool();
    if (in_prompt && !prompt) {  // the answer starts on a new line, after a gap
      in_prompt = false;
      x = kPad;
      y += line + kPad;
    }
    QString text = index.data().toString();
    const bool newline = text.contains(QLatin1Char('\n'));
    text.remove(QLatin1Char('\n')).remove(QLatin1Char('\r')).replace(QLatin1Char('\t'), QStringLiteral("    "));
    if (newline) text += QChar(0x21B5);  // ↵
    const int w = std::max(fm.horizontalAdvance(text), 3);
    if (x + w > right && x > kPad) {
      x = kPad;
      y += line;
    }
    if (out != nullptr) (*out)[static_cast<size_t>(i)] = Laid{text, QRect(x, y, w, line), prompt};
    x += w;
    if (newline) {
      x = kPad;
      y += line;
    }
  }
  return y + line + kPad;
}

void TokenTextArea::relayout() {
  laid_width_ = width();
  lay_out(width(), &laid_);
  updateGeometry();
  update();
}

int TokenTextArea::heightForWidth(int width) const { return lay_out(width, nullptr); }

QSize TokenTextArea::sizeHint() const { return {480, heightForWidth(std::max(width(), 480))}; }

void TokenTextArea::resizeEvent(QResizeEvent* event) {
  QWidget::resizeEvent(event);
  if (width() != laid_width_) relayout();
}

QRect TokenTextArea::token_rect(int64_t position) const {
  return position >= 0 && static_cast<size_t>(position) < laid_.size() ? laid_[static_cast<size_t>(position)].rect : QRect();
}

int64_t TokenTextArea::position_at(const QPoint& point) const {
  for (size_t i = 0; i < laid_.size(); ++i) {
    if (laid_[i].rect.contains(point)) return static_cast<int64_t>(i);
  }
  return -1;
}

void TokenTextArea::paintEvent(QPaintEvent* event) {
  QPainter painter(this);
  painter.fillRect(rect(), palette().color(QPalette::Base));
  const QColor text = palette().color(QPalette::Text), answer = palette().color(QPalette::Link);
  const QRect dirty = event->rect();
  for (size_t i = 0; i < laid_.size(); ++i) {
    const Laid& t = laid_[i];
    if (!t.rect.intersects(dirty)) continue;
    const double share = model_->kept_share(static_cast<int64_t>(i));
    if (share < 1.0) painter.fillRect(t.rect, shade(share));
    painter.setPen(t.prompt ? text : answer);
    painter.drawText(t.rect, Qt::AlignLeft | Qt::AlignVCenter | Qt::TextDontClip, t.text);
  }
}

bool TokenTextArea::event(QEvent* event) {
  if (event->type() == QEvent::ToolTip) {
    auto* help = static_cast<QHelpEvent*>(event);
    const int64_t p = position_at(help->pos());
    if (p >= 0) QToolTip::showText(help->globalPos(), model_->index(static_cast<int>(p)).data(Qt::ToolTipRole).toString(), this);
    else QToolTip::hideText();
    return true;
  }
  return QWidget::event(event);
}

void TokenTextArea::mousePressEvent(QMouseEvent* event) {
  const int64_t p = position_at(event->pos());
  if (event->button() == Qt::LeftButton && p >= 0) emit tokenClicked(p);
  QWidget::mousePressEvent(event);
}

}  // namespace kvwb
