package io.moeflux.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeflux.pipeline.model.ExpertKind;
import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.pipeline.model.SyntheticModel;
import io.moeflux.pipeline.placement.SwitchSchedule;
import io.moeflux.pipeline.sync.SyncOptions;
import org.junit.jupiter.api.Test;
import reactor.core.scheduler.Schedulers;

class PipelineConfigTest {
  private final ModelConfig model = ModelConfig.small();

  @Test
  void defaultsAreADecodeOnlyRankWithoutSwitchesOrReplicas() {
    PipelineConfig c = PipelineConfig.of(model, 8);
    assertThat(c.model()).isEqualTo(SyntheticModel.of(model));
    assertThat(c.maxTokensPerRank()).isEqualTo(8);
    assertThat(c.sync()).isEqualTo(SyncOptions.decodeOnly());
    assertThat(c.switches()).isEqualTo(SwitchSchedule.none());
    assertThat(c.redundantSlots()).isZero();
    assertThat(c.expertScheduler()).isSameAs(Schedulers.parallel());
    assertThat(c.expertThreads()).isZero();
    int cores = Runtime.getRuntime().availableProcessors();
    assertThat(c.expertThreads(1)).isEqualTo(cores);
    assertThat(c.expertThreads(cores * 2)).isEqualTo(1);
    assertThat(c.toBuilder().expertThreads(3).build().expertThreads(cores * 2)).isEqualTo(3);
    ModelConfig identity = model.toBuilder().expertKind(ExpertKind.IDENTITY).build();
    assertThat(PipelineConfig.of(identity, 8).expertScheduler()).isSameAs(Schedulers.immediate());
    assertThat(PipelineConfig.of(identity, 8).heavySteps()).isFalse();
  }

  /**
   * Heavy steps take even identity experts off the I/O threads; the bound is on capacity × hidden.
   */
  @Test
  void heavyStepsRunTheirMathOffTheIoThreads() {
    ModelConfig identity = model.toBuilder().expertKind(ExpertKind.IDENTITY).hidden(1024).build();
    int heavyTokens = (int) (PipelineConfig.HEAVY_STEP_VALUES / 1024);
    PipelineConfig light = PipelineConfig.of(identity, heavyTokens - 1);
    PipelineConfig heavy = PipelineConfig.of(identity, heavyTokens);
    assertThat(light.heavySteps()).isFalse();
    assertThat(light.expertScheduler()).isSameAs(Schedulers.immediate());
    assertThat(heavy.heavySteps()).isTrue();
    assertThat(heavy.expertScheduler()).isSameAs(Schedulers.parallel());
    PipelineConfig lowered = light.toBuilder().heavyStepValues(64).build();
    assertThat(lowered.heavySteps()).isTrue();
    assertThat(lowered.toBuilder().build()).isEqualTo(lowered);
    assertThatThrownBy(() -> light.toBuilder().heavyStepValues(0).build())
        .hasMessageContaining("heavyStepValues must be >= 1");
  }

  @Test
  void toBuilderKeepsEveryFieldAndChangesOnlyWhatIsSet() {
    PipelineConfig c =
        PipelineConfig.builder(model, 8)
            .expertScheduler(Schedulers.immediate())
            .expertThreads(2)
            .sync(SyncOptions.mixed())
            .switches(SwitchSchedule.builder().interval(10).delay(2).build())
            .redundantSlots(4)
            .build();
    assertThat(c.toBuilder().build()).isEqualTo(c).hasSameHashCodeAs(c);
    PipelineConfig wider = c.toBuilder().maxTokensPerRank(16).build();
    assertThat(wider.maxTokensPerRank()).isEqualTo(16);
    assertThat(wider.toBuilder().maxTokensPerRank(8).build()).isEqualTo(c);
  }

  @Test
  void buildNamesTheWrongField() {
    assertThatThrownBy(() -> PipelineConfig.of(model, 0))
        .hasMessage("maxTokensPerRank must be >= 1, got 0");
    assertThatThrownBy(() -> PipelineConfig.builder(model, 8).redundantSlots(-1).build())
        .hasMessage("redundantSlots must be >= 0, got -1");
    assertThatThrownBy(() -> PipelineConfig.builder(model, 8).expertThreads(-1).build())
        .hasMessage("expertThreads must be >= 0 (0: the rank's share of the cores), got -1");
    assertThatThrownBy(() -> PipelineConfig.builder(model, 8).sync(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("sync");
  }
}
