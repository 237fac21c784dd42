#pragma once
// What a plot draws of a long series or a dense timeline row: at most a couple of points per
// pixel column, chosen so nothing the eye would see is lost. Qt-free; the time plots and the
// op timeline use it when they copy data into their graphs.
#include <cstdint>
#include <utility>
#include <vector>

namespace kvwb {

struct DecimatedSeries {
  std::vector<double> keys, values;
};

// Min/max decimation of a series sorted by key: [from, to] is cut into `buckets` equal-width
// buckets (one per pixel column) and each keeps its lowest and its highest point, in key
// order, so a one-step spike still reaches its height. The nearest point outside the range on
// each side is kept, so lines run off the edges. A series of at most 2 x buckets points in
// range comes back unchanged. At most 2 x buckets + 2 points.
DecimatedSeries decimate_min_max(const std::vector<double>& keys, const std::vector<double>& values, double from,
                                 double to, int buckets);

// Bars of a timeline row (intervals sorted by start) merged where the gap between them is
// narrower than one bucket of [from, to] / buckets: what a row of `buckets` pixels can show.
// Every interval overlapping [from, to] lies inside one merged bar (drawn at least one bucket
// wide, so a span shorter than a pixel still shows); bars outside are dropped. Bars start at
// least a bucket apart: at most buckets + 2 of them.
std::vector<std::pair<double, double>> merge_bars(const std::vector<std::pair<double, double>>& bars, double from,
                                                  double to, int buckets);

}  // namespace kvwb
