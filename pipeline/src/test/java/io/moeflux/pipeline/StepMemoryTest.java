package io.moeflux.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.pipeline.sync.SyncOptions;
import io.moeflux.transport.InboundLimits;
import io.moeflux.transport.protocol.CombineFrameCodec;
import io.moeflux.transport.protocol.DispatchFrameCodec;
import io.moeflux.transport.protocol.FrameHeaderCodec;
import io.moeflux.transport.protocol.GatherFrameCodec;
import org.junit.jupiter.api.Test;

class StepMemoryTest {
  private final ModelConfig model = ModelConfig.builder().hidden(64).experts(8).topK(2).build();
  private final PipelineConfig config = PipelineConfig.of(model, 16);

  @Test
  void frameSizesFollowTheCodecs() {
    int h = FrameHeaderCodec.HEADER_BYTES;
    assertThat(StepMemory.dispatchFrameBytes(config))
        .isEqualTo(h + DispatchFrameCodec.bodyBytes(16, 2, 64));
    assertThat(StepMemory.combineFrameBytes(config))
        .isEqualTo(h + CombineFrameCodec.bodyBytes(64, 64));
    assertThat(StepMemory.gatherFrameBytes(config))
        .isEqualTo(h + GatherFrameCodec.bodyBytes(64, 64, 2, 64));
    // capacity × ranks × hidden × wire precision, per layer, for dispatch and combine
    long exchange =
        Math.max(StepMemory.dispatchFrameBytes(config), StepMemory.gatherFrameBytes(config));
    assertThat(StepMemory.receiveBytesPerStep(config, 4))
        .isEqualTo(3L * model.layers() * (exchange + StepMemory.combineFrameBytes(config)));
  }

  @Test
  void theLimitsCarryTheShapeAndRoomForTheWindow() {
    InboundLimits limits = StepMemory.limits(config, 3);
    assertThat(limits.stepWindow()).isEqualTo(3);
    assertThat(limits.hidden()).isEqualTo(64);
    assertThat(limits.topK()).isEqualTo(2);
    assertThat(limits.maxTokens()).isEqualTo(16);
    assertThat(limits.maxPaddedTokens()).isEqualTo(64);
    assertThat(limits.maxFrameBytes()).isEqualTo(StepMemory.BULK_FRAME_BYTES);
    assertThat(limits.maxBytesPerPeer())
        .isGreaterThanOrEqualTo(5 * StepMemory.peerBytesPerStep(config));
  }

  @Test
  void thePaddedCeilingIsTheLargestBatchOrFourTimesTheCapacity() {
    assertThat(StepMemory.maxPaddedTokens(config)).isEqualTo(64);
    PipelineConfig big =
        config.toBuilder().sync(SyncOptions.builder().maxBatchTokens(500).build()).build();
    assertThat(StepMemory.maxPaddedTokens(big)).isEqualTo(500);
  }
}
