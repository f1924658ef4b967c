package io.moeflux.serving;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.transport.TransportKind;
import io.moeflux.transport.testkit.LeakRecorder;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CancellationException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

class RequestBatcherTest {
  private final ModelConfig model = ModelConfig.small();
  private MoeGroup group;

  @BeforeEach
  void start() {
    group =
        MoeGroup.start(2, TransportKind.LOCAL, PipelineConfig.of(model, 8))
            .block(Duration.ofSeconds(30));
  }

  @AfterEach
  void stop() {
    group.dispose();
    LeakRecorder.assertNoLeaks();
  }

  private float[] rows(int tokens) {
    return new float[tokens * model.hidden()];
  }

  @Test
  void badRequestsFailOneByOneAndTheNextRequestIsServed() {
    RequestBatcher batcher = RequestBatcher.start(group).block(Duration.ofSeconds(10));
    try {
      float[] poison = rows(2);
      poison[model.hidden() + 5] = Float.POSITIVE_INFINITY;
      StepVerifier.create(batcher.submit(-1, 2, poison))
          .expectErrorSatisfies(
              error ->
                  assertThat(error)
                      .isInstanceOf(IllegalArgumentException.class)
                      .hasMessage(
                          "token 1 has an infinite value at element 5: only finite hidden states"
                              + " are served"))
          .verify(Duration.ofSeconds(10));
      StepVerifier.create(batcher.submit(-1, 9, rows(9)))
          .expectErrorMessage("9 tokens exceed the capacity of 8 tokens per rank")
          .verify(Duration.ofSeconds(10));
      StepVerifier.create(batcher.submit(5, 1, rows(1)))
          .expectError(IllegalArgumentException.class)
          .verify(Duration.ofSeconds(10));
      // nothing of the above reached the group: it serves the next request as usual
      StepVerifier.create(batcher.submit(-1, 3, rows(3)))
          .assertNext(served -> assertThat(served.batch().tokens()).isEqualTo(3))
          .verifyComplete();
    } finally {
      batcher.dispose();
    }
  }

  @Test
  void nothingIsRegisteredOrSubscribedUntilStartIsSubscribed() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    Mono<RequestBatcher> start = RequestBatcher.start(group, registry);
    assertThat(registry.find("moeflux.step.latency").timer()).isNull();
    RequestBatcher batcher = start.block(Duration.ofSeconds(10));
    try {
      assertThat(registry.find("moeflux.step.latency").timer()).isNotNull();
      StepVerifier.create(batcher.submit(-1, 3, rows(3)))
          .assertNext(served -> assertThat(served.batch().tokens()).isEqualTo(3))
          .verifyComplete();
      assertThat(registry.find("moeflux.step.latency").timer().count()).isEqualTo(1);
    } finally {
      batcher.dispose();
    }
  }

  @Test
  void concurrentRequestsFromManyThreadsAreAllServed() {
    RequestBatcher batcher = RequestBatcher.start(group).block(Duration.ofSeconds(10));
    try {
      List<RequestBatcher.Served> served =
          Flux.range(0, 64)
              .parallel(4)
              .runOn(Schedulers.parallel())
              .flatMap(i -> batcher.submit(i % 3 - 1, 1 + i % 4, rows(1 + i % 4)))
              .sequential()
              .collectList()
              .block(Duration.ofSeconds(60));
      assertThat(served).hasSize(64);
      assertThat(batcher.requestsServed()).isEqualTo(64);
      assertThat(served).allSatisfy(s -> assertThat(s.batch().tokens()).isBetween(1, 4));
    } finally {
      batcher.dispose();
    }
  }

  @Test
  void disposingFailsWhatIsStillPendingAndLaterRequests() {
    RequestBatcher batcher = RequestBatcher.start(group).block(Duration.ofSeconds(10));
    List<Mono<RequestBatcher.Served>> pending =
        Flux.range(0, 32).map(i -> batcher.submit(0, 8, rows(8)).cache()).collectList().block();
    pending.forEach(request -> request.subscribe(served -> {}, error -> {}));
    batcher.dispose();
    for (Mono<RequestBatcher.Served> request : pending) {
      // served before the dispose, or failed by it: never left hanging
      StepVerifier.create(request.onErrorResume(CancellationException.class, e -> Mono.empty()))
          .thenConsumeWhile(s -> true)
          .expectComplete()
          .verify(Duration.ofSeconds(10));
    }
    StepVerifier.create(batcher.submit(0, 1, rows(1)))
        .expectError(CancellationException.class)
        .verify(Duration.ofSeconds(10));
    assertThat(batcher.isDisposed()).isTrue();
  }

  @Test
  void aStoppedGroupFailsRequestsWithTheReasonInsteadOfRetrying() {
    RequestBatcher batcher = RequestBatcher.start(group).block(Duration.ofSeconds(10));
    try {
      StepVerifier.create(batcher.submit(0, 2, rows(2))).expectNextCount(1).verifyComplete();
      group.dispose();
      StepVerifier.create(batcher.submit(1, 2, rows(2)))
          .expectErrorSatisfies(error -> assertThat(error).hasMessageContaining("rank"))
          .verify(Duration.ofSeconds(20));
    } finally {
      batcher.dispose();
    }
  }
}
