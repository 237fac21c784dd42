#pragma once
// A traced request's tokens laid out as text that wraps at the widget's width, each token on a
// background shaded by how much of the KV cache still holds it (TokenViewModel's kept share):
// clear when every head keeps it, full orange when none does. A newline token ends its line
// (drawn as ↵); generated tokens follow the prompt after a bar, in the link colour. Hovering a
// token shows the model's tooltip (every head's state); clicking one emits tokenClicked.
// The layout is computed when the tokens or the width change; a new step only repaints.
#include <cstdint>
#include <vector>

#include <QColor>
#include <QRect>
#include <QString>
#include <QWidget>

namespace kvwb {

class TokenViewModel;

class TokenTextArea : public QWidget {
  Q_OBJECT

 public:
  explicit TokenTextArea(TokenViewModel* model, QWidget* parent = nullptr);

  // The background of a token kept by this share of heads (the palette's base when 1).
  QColor shade(double kept_share) const;
  QRect token_rect(int64_t position) const;  // empty when there is no such token
  int64_t position_at(const QPoint& point) const;  // -1 when no token is there

  bool hasHeightForWidth() const override { return true; }
  int heightForWidth(int width) const override;
  QSize sizeHint() const override;
  QSize minimumSizeHint() const override { return {120, 40}; }

 signals:
  void tokenClicked(qint64 position);

 protected:
  bool event(QEvent* event) override;
  void paintEvent(QPaintEvent* event) override;
  void resizeEvent(QResizeEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;

 private:
  struct Laid {
    QString text;  // as drawn
    QRect rect;
    bool prompt = true;
  };
  // The rectangles of every token for this width; the height used is returned.
  int lay_out(int width, std::vector<Laid>* out) const;
  void relayout();

  TokenViewModel* model_;
  std::vector<Laid> laid_;
  int laid_width_ = -1;
};

}  // namespace kvwb
