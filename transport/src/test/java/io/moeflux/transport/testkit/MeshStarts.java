package io.moeflux.transport.testkit;

import io.moeflux.transport.MeshConfig;
import io.moeflux.transport.RankMesh;
import java.time.Duration;
import java.util.List;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** Starting ranks that are expected to refuse each other: what each start failed with. */
public final class MeshStarts {
  private MeshStarts() {}

  /**
   * Starts every config at once and returns the errors of the starts that failed; the meshes that
   * did start are added to {@code started}, for the test to close.
   */
  public static List<Throwable> failures(List<MeshConfig> configs, List<RankMesh> started) {
    return Flux.fromIterable(configs)
        .flatMap(
            config ->
                RankMesh.start(config)
                    .doOnNext(started::add)
                    .then(Mono.<Throwable>empty())
                    .onErrorResume(Mono::just))
        .collectList()
        .block(Duration.ofSeconds(40));
  }
}
