package io.moeflux.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BlockRatiosTest {

  @Test
  void theMedianOfTheBlockRatios() {
    assertThat(BlockRatios.of(new double[] {1.3, 0.9, 1.0}, 0.95).median()).isEqualTo(1.0);
    assertThat(BlockRatios.of(new double[] {1.2, 0.9, 1.0, 1.1}, 0.95).median()).isEqualTo(1.05);
  }

  @Test
  void equalRatiosHaveAnIntervalOfNoWidth() {
    BlockRatios ratios = BlockRatios.of(new double[] {1.02, 1.02, 1.02, 1.02}, 0.95);
    assertThat(ratios.low()).isEqualTo(1.02);
    assertThat(ratios.high()).isEqualTo(1.02);
    assertThat(ratios.blocks()).isEqualTo(4);
  }

  /**
   * Ratios drawn around 1.01: the interval holds the median, narrows with more blocks, and covers
   * the true centre; the same ratios give the same interval.
   */
  @Test
  void theIntervalHoldsTheMedianAndNarrowsWithMoreBlocks() {
    double few = width(draws(40));
    double many = width(draws(1000));
    assertThat(many).isLessThan(few / 3);
    BlockRatios ratios = BlockRatios.of(draws(1000), 0.95);
    assertThat(ratios.low()).isLessThanOrEqualTo(ratios.median());
    assertThat(ratios.high()).isGreaterThanOrEqualTo(ratios.median());
    assertThat(ratios.low()).isLessThan(1.01);
    assertThat(ratios.high()).isGreaterThan(1.01);
    BlockRatios again = BlockRatios.of(draws(1000), 0.95);
    assertThat(again.low()).isEqualTo(ratios.low());
    assertThat(again.high()).isEqualTo(ratios.high());
  }

  @Test
  void refusesNoRatiosAndAnImpossibleConfidence() {
    assertThatThrownBy(() -> BlockRatios.of(new double[0], 0.95))
        .hasMessage("no block ratio to summarise");
    assertThatThrownBy(() -> BlockRatios.of(new double[] {1}, 1.0))
        .hasMessage("confidence must be in (0, 1), got 1.0");
  }

  private static double[] draws(int n) {
    SplittableRandom random = new SplittableRandom(5);
    double[] ratios = new double[n];
    for (int i = 0; i < n; i++) {
      ratios[i] = 1.01 + (random.nextDouble() - 0.5) * 0.2;
    }
    return ratios;
  }

  private static double width(double[] ratios) {
    BlockRatios summary = BlockRatios.of(ratios, 0.95);
    return summary.high() - summary.low();
  }
}
