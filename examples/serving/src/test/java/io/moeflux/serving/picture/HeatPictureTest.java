package io.moeflux.serving.picture;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.eplb.heat.HeatSnapshot;
import io.moeflux.pipeline.model.Placement;
import java.util.List;
import org.junit.jupiter.api.Test;

class HeatPictureTest {
  /** One layer, 2 ranks of 3 slots; expert 0 split 200/56 over both ranks. */
  private static final HeatSnapshot HEAT =
      HeatSnapshot.of(40, 80, 1, 2, 3, new long[] {780, 100, 300, 220, 400, 10});

  private static final Placement PLACEMENT =
      Placement.of(
          new int[][] {{0, 1, 2, 0, 3, 4}}, new int[][] {{200, 256, 256, 56, 256, 256}}, 5, 2, 7);

  @Test
  void cellsNameTheirExpertAndShareWhenThePlacementIsGiven() {
    String svg = HeatPicture.svg("t", List.of(new HeatPicture.Panel("after", HEAT, PLACEMENT)));
    assertThat(svg)
        .contains("layer 0, rank 0, slot 0, expert 0, share 200/256 (78.1%): 780 tokens")
        .contains("layer 0, rank 1, slot 0, expert 0, share 56/256 (21.9%): 220 tokens")
        .contains(">e0<")
        .contains(">78%<")
        .contains(">22%<")
        .contains("the share of that expert's tokens it takes");
    assertThat(HeatPicture.latest(HEAT, PLACEMENT)).contains("share 56/256");
  }

  @Test
  void withoutAPlacementCellsShowTokensOnly() {
    String svg = HeatPicture.svg("t", new String[] {"before"}, HEAT);
    assertThat(svg).contains("layer 0, rank 1, slot 2: 10 tokens").doesNotContain("share");
    Placement otherShape = Placement.identity(1, 4, 2);
    assertThat(HeatPicture.latest(HEAT, otherShape)).doesNotContain("share ");
    assertThat(HeatPicture.latest(null, PLACEMENT)).contains("no heat yet");
  }
}
