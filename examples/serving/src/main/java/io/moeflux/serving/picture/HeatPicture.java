package io.moeflux.serving.picture;

import io.moeflux.eplb.heat.HeatSnapshot;
import io.moeflux.pipeline.model.Placement;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * An SVG heat map of expert load: one panel per snapshot (before and after a rebalance), a row per
 * layer, a cell per physical expert slot grouped by rank, colour = tokens the slot received, with
 * per-rank totals, balancedness and a colour legend. When a panel has its placement, each cell also
 * names the slot's expert and the share of that expert's tokens the slot takes.
 */
public final class HeatPicture {
  /** One panel: a heat snapshot, its label, and the placement in force over its steps (or null). */
  public record Panel(String label, HeatSnapshot heat, @Nullable Placement placement) {
    public Panel {
      Objects.requireNonNull(label, "label");
      Objects.requireNonNull(heat, "heat");
    }
  }

  private static final int CELL = 22;
  private static final int WIDE_CELL = 40;
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
    return latest(latest, null);
  }

  /** As {@link #latest(HeatSnapshot)}, each cell labelled with {@code placement}'s shares. */
  public static String latest(@Nullable HeatSnapshot latest, @Nullable Placement placement) {
    return latest == null
        ? NO_HEAT_YET
        : svg("moeflux: live expert heat", List.of(new Panel("latest", latest, placement)));
  }

  /** Writes the panels side by side to {@code file}. */
  public static Path write(Path file, String title, String[] labels, HeatSnapshot... panels)
      throws IOException {
    return write(file, title, panels(labels, panels));
  }

  /** Writes the panels side by side to {@code file}. */
  public static Path write(Path file, String title, List<Panel> panels) throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    Files.writeString(file, svg(title, panels));
    return file;
  }

  /** The panels side by side, as an SVG document. */
  public static String svg(String title, String[] labels, HeatSnapshot... panels) {
    return svg(title, panels(labels, panels));
  }

  private static List<Panel> panels(String[] labels, HeatSnapshot[] heats) {
    List<Panel> panels = new ArrayList<>();
    for (int p = 0; p < heats.length; p++) {
      panels.add(new Panel(labels[p], heats[p], null));
    }
    return panels;
  }

  /** The panels side by side, as an SVG document. */
  public static String svg(String title, List<Panel> panels) {
    long max = 1;
    boolean shares = false;
    for (Panel panel : panels) {
      shares |= matching(panel.placement(), panel.heat()) != null;
      HeatSnapshot s = panel.heat();
      for (int l = 0; l < s.layers(); l++) {
        for (int r = 0; r < s.ranks(); r++) {
          for (int i = 0; i < s.localSlots(); i++) {
            max = Math.max(max, s.count(l, r, i));
          }
        }
      }
    }
    int cell = shares ? WIDE_CELL : CELL;
    HeatSnapshot first = panels.get(0).heat();
    int panelWidth = first.ranks() * (first.localSlots() * cell + GAP) + 40;
    int panelHeight = first.layers() * (CELL + 4) + 70;
    int width = LEFT + panels.size() * panelWidth + 20;
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
    for (int p = 0; p < panels.size(); p++) {
      panel(svg, panels.get(p), cell, LEFT + p * panelWidth, TOP, max);
    }
    legend(svg, LEFT, TOP + panelHeight + 10, max, shares);
    return svg.append("</svg>\n").toString();
  }

  private static void panel(StringBuilder svg, Panel panel, int cell, int x0, int y0, long max) {
    HeatSnapshot s = panel.heat();
    String label = panel.label();
    Placement placement = matching(panel.placement(), s);
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
        int xr = x0 + r * (s.localSlots() * cell + GAP);
        for (int i = 0; i < s.localSlots(); i++) {
          long count = s.count(l, r, i);
          String what = "";
          if (placement != null) {
            int slot = r * s.localSlots() + i;
            int share = placement.share(l, slot);
            what =
                String.format(
                    Locale.ROOT,
                    ", expert %d, share %d/%d (%.1f%%)",
                    placement.logicalOf(l, slot),
                    share,
                    Placement.SHARE_UNITS,
                    100.0 * share / Placement.SHARE_UNITS);
          }
          svg.append(
              String.format(
                  Locale.ROOT,
                  "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" stroke=\"#d0d0d0\">"
                      + "<title>layer %d, rank %d, slot %d%s: %d tokens</title></rect>%n",
                  xr + i * cell,
                  y,
                  cell,
                  CELL,
                  colour((double) count / max),
                  l,
                  r,
                  i,
                  what,
                  count));
          if (placement != null) {
            int slot = r * s.localSlots() + i;
            // dark cells take light text
            String ink = (double) count / max > 0.6 ? "white" : "black";
            svg.append(label(xr + i * cell + 2, y + 9, ink, "e" + placement.logicalOf(l, slot)));
            svg.append(
                label(
                    xr + i * cell + 2,
                    y + 19,
                    ink,
                    Math.round(100.0 * placement.share(l, slot) / Placement.SHARE_UNITS) + "%"));
          }
        }
      }
    }
    int yRanks = y0 + s.layers() * (CELL + 4) + 14;
    for (int r = 0; r < s.ranks(); r++) {
      int xr = x0 + r * (s.localSlots() * cell + GAP);
      long total = 0;
      for (int l = 0; l < s.layers(); l++) {
        total += s.rankTotal(l, r);
      }
      svg.append(text(xr, yRanks, 11, "normal", "rank " + r));
      svg.append(text(xr, yRanks + 14, 10, "normal", total + " tok"));
    }
  }

  /** {@code placement} when its shape matches the heat's, else null. */
  private static @Nullable Placement matching(@Nullable Placement placement, HeatSnapshot s) {
    return placement != null
            && placement.layers() == s.layers()
            && placement.ranks() == s.ranks()
            && placement.slotsPerRank() == s.localSlots()
        ? placement
        : null;
  }

  private static void legend(StringBuilder svg, int x0, int y0, long max, boolean shares) {
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
    if (shares) {
      svg.append(
          text(
              x0,
              y0 + 48,
              11,
              "normal",
              "each cell: the slot's expert (e#) and the share of that expert's tokens it takes"));
    }
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

  /** A small label inside a cell. */
  private static String label(int x, int y, String ink, String content) {
    return String.format(
        Locale.ROOT,
        "<text x=\"%d\" y=\"%d\" font-size=\"8\" fill=\"%s\">%s</text>%n",
        x,
        y,
        ink,
        content);
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
