package io.moeflux.serving.picture;

import io.moeflux.eplb.heat.HeatSnapshot;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * An SVG heat map of expert load: one panel per snapshot (before and after a rebalance), a row per
 * layer, a cell per physical expert slot grouped by rank, colour = tokens the slot received, with
 * per-rank totals, balancedness and a colour legend.
 */
public final class HeatPicture {
  private static final int CELL = 22;
  private static final int GAP = 6;
  private static final int LEFT = 70;
  private static final int TOP = 56;

  private static final String NO_HEAT_YET =
      "<svg xmlns=\"http://www.w3.org/2000/svg\"><text y=\"20\">no heat yet</text></svg>";

  private HeatPicture() {}

  /**
   * The latest heat of a running group as one panel (what {@code /heat.svg} shows), or a small
   * placeholder document before the first heat window.
   */
  public static String latest(@Nullable HeatSnapshot latest) {
    return latest == null
        ? NO_HEAT_YET
        : svg("moeflux: live expert heat", new String[] {"latest"}, latest);
  }

  /** Writes the panels side by side to {@code file}. */
  public static Path write(Path file, String title, String[] labels, HeatSnapshot... panels)
      throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    Files.writeString(file, svg(title, labels, panels));
    return file;
  }

  /** The panels side by side, as an SVG document. */
  public static String svg(String title, String[] labels, HeatSnapshot... panels) {
    long max = 1;
    for (HeatSnapshot s : panels) {
      for (int l = 0; l < s.layers(); l++) {
        for (int r = 0; r < s.ranks(); r++) {
          for (int i = 0; i < s.localSlots(); i++) {
            max = Math.max(max, s.count(l, r, i));
          }
        }
      }
    }
    HeatSnapshot first = panels[0];
    int panelWidth = first.ranks() * (first.localSlots() * CELL + GAP) + 40;
    int panelHeight = first.layers() * (CELL + 4) + 70;
    int width = LEFT + panels.length * panelWidth + 20;
    int height = TOP + panelHeight + 70;
    StringBuilder svg = new StringBuilder();
    svg.append(
        String.format(
            Locale.ROOT,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\""
                + " font-family=\"sans-serif\" font-size=\"12\">%n",
            width,
            height));
    svg.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    svg.append(text(LEFT, 22, 16, "bold", title));
    for (int p = 0; p < panels.length; p++) {
      panel(svg, panels[p], labels[p], LEFT + p * panelWidth, TOP, max);
    }
    legend(svg, LEFT, TOP + panelHeight + 10, max);
    return svg.append("</svg>\n").toString();
  }

  private static void panel(
      StringBuilder svg, HeatSnapshot s, String label, int x0, int y0, long max) {
    svg.append(
        text(
            x0,
            y0 - 14,
            13,
            "bold",
            String.format(
                Locale.ROOT,
                "%s: steps %d-%d, balancedness %.3f",
                label,
                s.fromStep(),
                s.toStep() - 1,
                s.meanBalancedness())));
    for (int l = 0; l < s.layers(); l++) {
      int y = y0 + l * (CELL + 4);
      if (x0 == LEFT) {
        svg.append(text(8, y + 15, 12, "normal", "layer " + l));
      }
      for (int r = 0; r < s.ranks(); r++) {
        int xr = x0 + r * (s.localSlots() * CELL + GAP);
        for (int i = 0; i < s.localSlots(); i++) {
          long count = s.count(l, r, i);
          svg.append(
              String.format(
                  Locale.ROOT,
                  "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" stroke=\"#d0d0d0\">"
                      + "<title>layer %d, rank %d, slot %d: %d tokens</title></rect>%n",
                  xr + i * CELL,
                  y,
                  CELL,
                  CELL,
                  colour((double) count / max),
                  l,
                  r,
                  i,
                  count));
        }
      }
    }
    int yRanks = y0 + s.layers() * (CELL + 4) + 14;
    for (int r = 0; r < s.ranks(); r++) {
      int xr = x0 + r * (s.localSlots() * CELL + GAP);
      long total = 0;
      for (int l = 0; l < s.layers(); l++) {
        total += s.rankTotal(l, r);
      }
      svg.append(text(xr, yRanks, 11, "normal", "rank " + r));
      svg.append(text(xr, yRanks + 14, 10, "normal", total + " tok"));
    }
  }

  private static void legend(StringBuilder svg, int x0, int y0, long max) {
    svg.append(text(x0, y0 + 12, 12, "normal", "tokens per expert slot:"));
    int steps = 10;
    for (int i = 0; i <= steps; i++) {
      svg.append(
          String.format(
              Locale.ROOT,
              "<rect x=\"%d\" y=\"%d\" width=\"24\" height=\"14\" fill=\"%s\"/>%n",
              x0 + 150 + i * 24,
              y0,
              colour((double) i / steps)));
    }
    svg.append(text(x0 + 150, y0 + 30, 10, "normal", "0"));
    svg.append(text(x0 + 150 + steps * 24, y0 + 30, 10, "normal", Long.toString(max)));
  }

  /** White (cold) through yellow and orange to dark red (hot). */
  static String colour(double t) {
    t = Math.max(0, Math.min(1, t));
    int r;
    int g;
    int b;
    if (t < 0.5) {
      double u = t / 0.5;
      r = 255;
      g = (int) Math.round(255 - u * 80);
      b = (int) Math.round(255 - u * 215);
    } else {
      double u = (t - 0.5) / 0.5;
      r = (int) Math.round(255 - u * 115);
      g = (int) Math.round(175 - u * 175);
      b = (int) Math.round(40 - u * 40);
    }
    return String.format(Locale.ROOT, "#%02x%02x%02x", r, g, b);
  }

  private static String text(int x, int y, int size, String weight, String content) {
    return String.format(
        Locale.ROOT,
        "<text x=\"%d\" y=\"%d\" font-size=\"%d\" font-weight=\"%s\">%s</text>%n",
        x,
        y,
        size,
        weight,
        content.replace("&", "&amp;").replace("<", "&lt;"));
  }
}
