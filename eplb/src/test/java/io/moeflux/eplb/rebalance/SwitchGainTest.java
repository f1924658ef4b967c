package io.moeflux.eplb.rebalance;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.pipeline.model.Placement;
import org.junit.jupiter.api.Test;

/** A plan is scored against the placement in force on the same load. */
class SwitchGainTest {
  /** 4 experts in 6 slots on 2 ranks, expert 0 hot; tokens per expert as the heat counts them. */
  private static final double[][] LOAD = {{900, 100, 300, 500}};

  private static final Placement NOW =
      Placement.of(
          new int[][] {{0, 1, 2, 0, 3, 2}}, new int[][] {{128, 256, 128, 128, 256, 128}}, 4, 2, 0);

  @Test
  void slotsReorderedWithinRanksGainExactlyNothing() {
    Placement reordered =
        Placement.of(
            new int[][] {{2, 0, 1, 3, 2, 0}},
            new int[][] {{128, 128, 256, 256, 128, 128}},
            4,
            2,
            40);
    SwitchGain gain = SwitchGain.of(LOAD, NOW, reordered);
    assertThat(gain.sameSlotsPerRank()).isTrue();
    assertThat(gain.gain()).isZero();
    assertThat(gain.worthIt(0.0)).isFalse();
    assertThat(gain.worthIt(0.01)).isFalse();
  }

  @Test
  void ranksSwappedGainNothingAndAreNotWorthMovingFor() {
    Placement swapped = Placement.of(new int[][] {{0, 3, 2, 0, 1, 2}}, 4, 2, 40);
    SwitchGain gain = SwitchGain.of(LOAD, NOW, swapped);
    assertThat(gain.sameSlotsPerRank()).isFalse();
    assertThat(gain.gain()).isZero();
    assertThat(gain.worthIt(0.0)).isFalse();
  }

  @Test
  void sharesThatEvenTheRanksOutAreWorthIt() {
    // rank loads now: 450 + 100 + 150 = 700 and 450 + 500 + 150 = 1100; balancedness 900/1100
    assertThat(SwitchGain.of(LOAD, NOW, NOW).current()).isEqualTo(900.0 / 1100);
    // rank 0 takes 228/256 of expert 0 and none of expert 2: 901.6 and 898.4 tokens
    Placement reshared =
        Placement.of(
            new int[][] {{0, 1, 2, 0, 3, 2}}, new int[][] {{228, 256, 0, 28, 256, 256}}, 4, 2, 40);
    SwitchGain gain = SwitchGain.of(LOAD, NOW, reshared);
    assertThat(gain.planned()).isGreaterThan(0.99);
    assertThat(gain.gain()).isGreaterThan(0.15);
    assertThat(gain.worthIt(0.01)).isTrue();
    assertThat(gain.worthIt(0.5)).isFalse();
  }
}
