package io.moeflux.pipeline.placement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeflux.pipeline.model.Placement;
import org.junit.jupiter.api.Test;

class PlacementHistoryTest {
  private final Placement initial = Placement.withRedundancy(2, 4, 2, 2);
  private final Placement next =
      Placement.of(new int[][] {{0, 1, 0, 2, 3, 1}, {0, 1, 2, 2, 3, 0}}, 4, 2, 40);

  @Test
  void saysWhichPlacementWasInForceAtEachStep() {
    PlacementHistory history = PlacementHistory.startingWith(initial).with(30, next);
    assertThat(history.switches()).isEqualTo(1);
    assertThat(history.inForceAt(0)).isSameAs(initial);
    assertThat(history.inForceAt(29)).isSameAs(initial);
    assertThat(history.inForceAt(30)).isSameAs(next);
    assertThat(history.inForceAt(1_000)).isSameAs(next);
    assertThat(history).hasToString("PlacementHistory{step 0: v0, step 30: v40}");
  }

  @Test
  void equalHistoriesHaveEqualDigestsAndAnyDifferenceChangesBoth() {
    PlacementHistory a = PlacementHistory.startingWith(initial).with(30, next);
    Placement sameMaps = Placement.of(next.phy2log(), 4, 2, 40);
    PlacementHistory b = PlacementHistory.startingWith(initial).with(30, sameMaps);
    assertThat(a.sameAs(b)).isTrue();
    assertThat(a.digest()).isEqualTo(b.digest()).matches("[0-9a-f]{16}");

    PlacementHistory otherStep = PlacementHistory.startingWith(initial).with(31, next);
    PlacementHistory otherVersion =
        PlacementHistory.startingWith(initial).with(30, Placement.of(next.phy2log(), 4, 2, 41));
    int[][] swapped = next.phy2log();
    swapped[1][0] = 1;
    swapped[1][1] = 0;
    PlacementHistory otherMap =
        PlacementHistory.startingWith(initial).with(30, Placement.of(swapped, 4, 2, 40));
    PlacementHistory noSwitch = PlacementHistory.startingWith(initial);
    for (PlacementHistory other :
        new PlacementHistory[] {otherStep, otherVersion, otherMap, noSwitch}) {
      assertThat(a.sameAs(other)).as("%s", other).isFalse();
      assertThat(a.digest()).as("%s", other).isNotEqualTo(other.digest());
    }
  }

  @Test
  void aLongHistoryKeepsItsLastEntriesAndADigestOfAll() {
    PlacementHistory a = PlacementHistory.startingWith(initial);
    PlacementHistory b = PlacementHistory.startingWith(initial);
    for (int i = 1; i <= PlacementHistory.KEPT + 10; i++) {
      a = a.with(10L * i, i % 2 == 0 ? next : initial);
      b = b.with(10L * i, i % 2 == 0 ? next : initial);
    }
    assertThat(a.switches()).isEqualTo(PlacementHistory.KEPT + 10);
    assertThat(a.entries()).hasSize(PlacementHistory.KEPT);
    assertThat(a.sameAs(b)).isTrue();
    assertThat(a.digest()).isEqualTo(b.digest());
    assertThat(a.inForceAt(10L * (PlacementHistory.KEPT + 10))).isSameAs(next);
    PlacementHistory whole = a;
    assertThatThrownBy(() -> whole.inForceAt(5))
        .hasMessageContaining("older than the 256 switches");
    // a difference long forgotten still shows in the digest
    PlacementHistory c = PlacementHistory.startingWith(initial).with(10, next);
    for (int i = 2; i <= PlacementHistory.KEPT + 10; i++) {
      c = c.with(10L * i, i % 2 == 0 ? next : initial);
    }
    assertThat(c.entries()).isEqualTo(a.entries());
    assertThat(c.sameAs(a)).isFalse();
    assertThat(c.digest()).isNotEqualTo(a.digest());
  }

  @Test
  void aSwitchFollowsTheLastOne() {
    PlacementHistory history = PlacementHistory.startingWith(initial).with(30, next);
    assertThatThrownBy(() -> history.with(30, initial))
        .hasMessage("a switch at step 30 does not follow the last one, at step 30");
  }
}
