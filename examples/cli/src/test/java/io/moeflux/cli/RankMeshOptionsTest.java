package io.moeflux.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.pipeline.Overlap;
import org.junit.jupiter.api.Test;

class RankMeshOptionsTest {
  private static RankMeshOptions peers(String peers) {
    RankMeshOptions options = new RankMeshOptions();
    options.rank = 0;
    options.world = peers.split(",").length;
    options.peers = peers;
    return options;
  }

  /**
   * Ranks on one host's loopback do not split their steps; ranks on other hosts do, when a step can
   * carry enough tokens.
   */
  @Test
  void theDefaultOverlapSplitsOnlyWhenSomePeerIsOnAnotherHostAndStepsAreLarge() {
    int large = RankMeshOptions.SPLIT_FROM_TOKENS;
    assertThat(
            peers("127.0.0.1:7000,127.0.0.1:7001,localhost:7002,[::1]:7003").defaultOverlap(large))
        .isEqualTo(Overlap.off());
    assertThat(peers("127.0.0.1:7000,10.0.0.2:7000").defaultOverlap(large))
        .isEqualTo(Overlap.auto());
    assertThat(peers("moeflux-0.moeflux:7000,moeflux-1.moeflux:7000").defaultOverlap(large))
        .isEqualTo(Overlap.auto());
    assertThat(peers("moeflux-0.moeflux:7000,moeflux-1.moeflux:7000").defaultOverlap(large - 1))
        .isEqualTo(Overlap.off());
  }

  /** --overlap, when given, wins over the default. */
  @Test
  void anOverlapGivenWinsOverTheDefault() {
    ModelOptions model = new ModelOptions();
    model.defaultOverlap = Overlap.auto();
    assertThat(model.pipeline(2).overlap()).isEqualTo(Overlap.auto());
    model.overlap = Overlap.off();
    assertThat(model.pipeline(2).overlap()).isEqualTo(Overlap.off());
  }
}
