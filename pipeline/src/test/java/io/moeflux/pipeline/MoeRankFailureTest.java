package io.moeflux.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.transport.MeshConfig;
import io.moeflux.transport.MeshConfigs;
import io.moeflux.transport.MeshException;
import io.moeflux.transport.MeshFingerprint;
import io.moeflux.transport.TransportKind;
import io.moeflux.transport.testkit.LeakRecorder;
import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;

/** Bad input and dead peers end the step with a clear error on every rank, never a hang. */
class MoeRankFailureTest {
  private final ModelConfig model = ModelConfig.builder().experts(6).build();

  @AfterEach
  void noLeaks() {
    LeakRecorder.assertNoLeaks();
  }

  @ParameterizedTest
  @EnumSource(TransportKind.class)
  void overCapacityIsRefusedOnEveryRank(TransportKind transport) {
    MoeGroup group =
        MoeGroup.start(3, transport, PipelineConfig.of(model, 4)).block(Duration.ofSeconds(30));
    try {
      Flux<TokenBatch> ok0 =
          Flux.just(
              MoeGroupReferenceTest.batch(0, 2, model), MoeGroupReferenceTest.batch(1, 2, model));
      Flux<TokenBatch> ok2 =
          Flux.just(
              MoeGroupReferenceTest.batch(0, 4, model), MoeGroupReferenceTest.batch(1, 1, model));
      Flux<TokenBatch> over =
          Flux.just(
              MoeGroupReferenceTest.batch(0, 1, model), MoeGroupReferenceTest.batch(1, 5, model));
      List<Flux<TokenBatch>> inputs = List.of(ok0, over, ok2);
      List<Throwable> errors = errorsOfEveryRank(group, inputs::get);
      assertThat(errors)
          .hasSize(3)
          .allSatisfy(
              error ->
                  assertThat(error)
                      .isInstanceOf(PipelineException.class)
                      .hasMessageContaining("rank 1, step 1: 5 tokens exceed the capacity of 4"));
    } finally {
      group.dispose();
    }
  }

  @ParameterizedTest
  @EnumSource(TransportKind.class)
  void aDeadPeerFailsTheStepOnTheOthers(TransportKind transport) {
    MoeGroup group =
        MoeGroup.start(3, transport, PipelineConfig.of(model, 4)).block(Duration.ofSeconds(30));
    try {
      Sinks.Many<TokenBatch> in0 = Sinks.many().unicast().onBackpressureBuffer();
      Sinks.Many<TokenBatch> in1 = Sinks.many().unicast().onBackpressureBuffer();
      Sinks.Many<TokenBatch> in2 = Sinks.many().unicast().onBackpressureBuffer();
      var out = group.forward(List.of(in0.asFlux(), in1.asFlux(), in2.asFlux()));
      StepVerifier.create(out)
          .then(
              () -> {
                in0.tryEmitNext(MoeGroupReferenceTest.batch(0, 2, model));
                in1.tryEmitNext(MoeGroupReferenceTest.batch(0, 3, model));
                in2.tryEmitNext(MoeGroupReferenceTest.batch(0, 1, model));
              })
          .expectNextCount(1)
          .then(
              () -> {
                group.rank(2).dispose();
                in0.tryEmitNext(MoeGroupReferenceTest.batch(1, 2, model));
                in1.tryEmitNext(MoeGroupReferenceTest.batch(1, 3, model));
              })
          .expectErrorSatisfies(
              error ->
                  assertThat(error)
                      .isInstanceOf(MeshException.class)
                      .hasMessageContaining("rank 2"))
          .verify(Duration.ofSeconds(20));
    } finally {
      group.dispose();
    }
  }

  @ParameterizedTest
  @EnumSource(TransportKind.class)
  void aFrameThatCannotBeAllocatedFailsTheStepOnEveryRankWithThatReason(TransportKind transport) {
    List<MeshConfig> meshes =
        new ArrayList<>(MeshConfigs.group(transport, 3, MeshFingerprint.EMPTY));
    // rows of 2048 floats: a DATA frame with a row is over 8 KB, any ABORT frame (a reason of at
    // most 4 KiB) under 6 KB, so the failing rank can still tell its peers why
    ModelConfig wide = model.toBuilder().hidden(2048).intermediate(16).build();
    RunsOutAfter rank1 = new RunsOutAfter(6000);
    meshes.set(1, meshes.get(1).toBuilder().allocator(rank1).build());
    PipelineConfig config = PipelineConfig.of(wide, 4);
    MoeGroup group =
        MoeGroup.start(meshes, rank -> config, RankExtensions.none()).block(Duration.ofSeconds(30));
    try {
      rank1.arm();
      List<Throwable> errors =
          errorsOfEveryRank(
              group, r -> Flux.range(0, 4).map(step -> MoeGroupReferenceTest.batch(step, 3, wide)));
      assertThat(errors)
          .hasSize(3)
          .allSatisfy(
              error ->
                  assertThat(error)
                      .isInstanceOf(PipelineException.class)
                      .hasMessageContaining("could not be allocated")
                      .hasMessageContaining("direct memory in use"));
    } finally {
      group.dispose();
    }
  }

  /** Runs every rank of {@code group} on its inputs; the errors they ended with. */
  private static List<Throwable> errorsOfEveryRank(
      MoeGroup group, IntFunction<Flux<TokenBatch>> inputs) {
    return Flux.range(0, group.size())
        .flatMap(
            r ->
                group
                    .rank(r)
                    .forward(inputs.apply(r))
                    .then(Mono.<Throwable>empty())
                    .onErrorResume(Mono::just))
        .collectList()
        .block(Duration.ofSeconds(20));
  }

  /**
   * The pooled allocator, until {@link #arm()}: then every buffer of at least {@code bytes} bytes
   * fails as the JVM does when the direct-memory limit is reached.
   */
  private static final class RunsOutAfter extends AbstractByteBufAllocator {
    private final int bytes;
    private volatile boolean armed;

    RunsOutAfter(int bytes) {
      super(true);
      this.bytes = bytes;
    }

    void arm() {
      armed = true;
    }

    @Override
    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
      return ByteBufAllocator.DEFAULT.heapBuffer(initialCapacity, maxCapacity);
    }

    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
      if (armed && initialCapacity >= bytes) {
        throw new OutOfMemoryError("Cannot reserve " + initialCapacity + " bytes of direct memory");
      }
      return ByteBufAllocator.DEFAULT.directBuffer(initialCapacity, maxCapacity);
    }

    @Override
    public boolean isDirectBufferPooled() {
      return true;
    }
  }
}
