package io.moeflux.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.pipeline.sync.SyncOptions;
import io.moeflux.transport.InboundLimits;
import io.moeflux.transport.protocol.CombineFrameCodec;
import io.moeflux.transport.protocol.DispatchFrameCodec;
import io.moeflux.transport.protocol.FrameHeaderCodec;
import io.moeflux.transport.protocol.GatherFrameCodec;
import io.moeflux.transport.protocol.WireFormat;
import io.moeflux.transport.protocol.WirePrecision;
import org.junit.jupiter.api.Test;

class StepMemoryTest {
  private final ModelConfig model = ModelConfig.builder().hidden(64).experts(8).topK(2).build();
  // a rank that syncs: its padded all-gather may carry up to 4 × the capacity
  private final PipelineConfig config =
      PipelineConfig.builder(model, 16).sync(SyncOptions.mixed()).build();

  @Test
  void frameSizesFollowTheCodecs() {
    int h = FrameHeaderCodec.HEADER_BYTES;
    assertThat(StepMemory.dispatchFrameBytes(config))
        .isEqualTo(h + DispatchFrameCodec.bodyBytes(16, 2, 64, WirePrecision.F32));
    assertThat(StepMemory.combineFrameBytes(config))
        .isEqualTo(h + CombineFrameCodec.bodyBytes(64, 64, WirePrecision.F32));
    assertThat(StepMemory.gatherFrameBytes(config))
        .isEqualTo(h + GatherFrameCodec.bodyBytes(64, 64, 2, 64, WirePrecision.F32));
    // capacity × ranks × hidden × wire precision, per layer, for dispatch and combine
    long exchange =
        Math.max(StepMemory.dispatchFrameBytes(config), StepMemory.gatherFrameBytes(config));
    // and a header more per phase for the second micro-batch
    long micro = 2L * FrameHeaderCodec.HEADER_BYTES;
    assertThat(StepMemory.receiveBytesPerStep(config, 4))
        .isEqualTo(3L * model.layers() * (exchange + StepMemory.combineFrameBytes(config) + micro));
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
    // a rank that may skip the sync never pads beyond its capacity
    assertThat(StepMemory.maxPaddedTokens(PipelineConfig.of(model, 16))).isEqualTo(16);
  }

  @Test
  void framesShrinkWithTheWirePrecision() {
    PipelineConfig bf16 = config.toBuilder().wire(WireFormat.parse("bf16")).build();
    PipelineConfig fp8 = config.toBuilder().wire(WireFormat.parse("fp8")).build();
    int h = FrameHeaderCodec.HEADER_BYTES;
    // 2 picks of 8 bytes, then 64 values of 4, 2, or 1 byte (and a 4-byte scale for fp8)
    assertThat(StepMemory.dispatchFrameBytes(config)).isEqualTo(h + 16 * (16 + 256));
    assertThat(StepMemory.dispatchFrameBytes(bf16)).isEqualTo(h + 16 * (16 + 128));
    assertThat(StepMemory.dispatchFrameBytes(fp8)).isEqualTo(h + 16 * (16 + 4 + 64));
    // fp8 combines in bf16
    assertThat(StepMemory.combineFrameBytes(fp8)).isEqualTo(StepMemory.combineFrameBytes(bf16));
    assertThat(StepMemory.directBytesPerRank(fp8, 4))
        .isLessThan(StepMemory.directBytesPerRank(bf16, 4))
        .isLessThan(StepMemory.directBytesPerRank(config, 4));
  }

  @Test
  void aStartBeyondTheDirectMemoryLimitIsRefusedWithTheNumbers() {
    long needed = 2 * StepMemory.directBytesPerRank(config, 4);
    assertThatCode(() -> StepMemory.checkFits(config, 4, 2, needed)).doesNotThrowAnyException();
    assertThatThrownBy(() -> StepMemory.checkFits(config, 4, 2, needed - 1))
        .isInstanceOf(PipelineException.class)
        .hasMessageContaining("2 ranks in this JVM of a group of 4 need up to")
        .hasMessageContaining("capacity 16 tokens (padded up to 64), hidden 64, top-2, wire f32")
        .hasMessageContaining("-XX:MaxDirectMemorySize");
  }
}
