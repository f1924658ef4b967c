package io.moeflux.pipeline.reference;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DescendingSelectionTest {

  @Test
  void theLargestComeFirstAndTheLowerIdWinsATie() {
    int[] ids = new int[4];
    DescendingSelection.topK(new double[] {0.5, 0.9, 0.5, 0.1, 0.9}, 3, ids, 1);
    assertThat(ids).containsExactly(0, 1, 4, 0);
  }

  @Test
  void theGapCoversTheOrderOfTheChosenAndTheFirstLeftOut() {
    double[] values = {0.1, 0.7, 0.4, 0.65};
    // sorted 0.7, 0.65, 0.4, 0.1: top-1 is decided by 0.05, top-2 also by 0.25, top-3 by 0.3
    assertThat(DescendingSelection.smallestGap(values, 1)).isEqualTo(0.7 - 0.65);
    assertThat(DescendingSelection.smallestGap(new double[] {0.1, 0.7, 0.4, 0.35}, 2))
        .isEqualTo(0.4 - 0.35);
    assertThat(DescendingSelection.smallestGap(new double[] {0.3}, 1)).isInfinite();
    assertThat(DescendingSelection.boundaryGap(values, 2)).isEqualTo(0.65 - 0.4);
    assertThat(DescendingSelection.boundaryGap(values, 4)).isInfinite();
  }
}
