package io.moeflux.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.transport.MeshException;
import io.moeflux.transport.TransportKind;
import io.moeflux.transport.testkit.LeakRecorder;
import java.time.Duration;
import java.util.List;
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
      List<Throwable> errors =
          Flux.range(0, 3)
              .flatMap(
                  r ->
                      group
                          .rank(r)
                          .forward(inputs.get(r))
                          .then(Mono.<Throwable>empty())
                          .onErrorResume(Mono::just))
              .collectList()
              .block(Duration.ofSeconds(20));
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
}
