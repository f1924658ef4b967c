package io.moeflux.pipeline.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SyncOptionsTest {
  @Test
  void theDefaultsAreADecodeOnlyRank() {
    SyncOptions d = SyncOptions.builder().build();
    assertThat(d).isEqualTo(SyncOptions.decodeOnly());
    assertThat(d.role()).isEqualTo(RankRole.DECODE);
    assertThat(d.localRecompute()).isFalse();
    assertThat(d.maxBatchTokens()).isZero();
    assertThat(d.warmupSteps()).isZero();
    assertThat(SyncOptions.mixed().role()).isEqualTo(RankRole.MIXED);
  }

  @Test
  void toBuilderKeepsEveryField() {
    SyncOptions o =
        SyncOptions.builder()
            .role(RankRole.MIXED)
            .localRecompute(true)
            .maxBatchTokens(12)
            .warmupSteps(3)
            .build();
    assertThat(o.toBuilder().build()).isEqualTo(o).hasSameHashCodeAs(o);
    assertThat(o.toBuilder().warmupSteps(4).build()).isNotEqualTo(o);
  }

  @Test
  void buildNamesTheWrongField() {
    assertThatThrownBy(() -> SyncOptions.builder().maxBatchTokens(-1).build())
        .hasMessage("maxBatchTokens must be >= 0, got -1");
    assertThatThrownBy(() -> SyncOptions.builder().warmupSteps(-2).build())
        .hasMessage("warmupSteps must be >= 0, got -2");
    assertThatThrownBy(() -> SyncOptions.builder().role(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("role");
  }
}
