package io.moeflux.pipeline.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeflux.pipeline.kernel.ExpertKernels;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class ExpertBankTest {
  private final ModelConfig config = ModelConfig.builder().hidden(16).intermediate(8).build();

  @Test
  void cachesOneFunctionPerLayerAndExpert() {
    ExpertBank bank = new ExpertBank(config);
    ExpertFfn ffn = bank.expert(1, 3);
    assertThat(bank.expert(1, 3)).isSameAs(ffn);
    assertThat(bank.expert(0, 3)).isNotSameAs(ffn);
    assertThat(ffn.kind()).isEqualTo(ExpertKind.SWIGLU);
    assertThat(bank.weights(1, 3).sameBits(ffn.weights())).isTrue();
    assertThat(bank.kernel()).isSameAs(ExpertKernels.preferred());
    assertThat(bank.weights(1, 3).sameBits(ExpertWeights.generate(config, 1, 3))).isTrue();
    assertThat(bank.config()).isEqualTo(config);
  }

  @Test
  void identityBankHasNoWeights() {
    ExpertBank bank = new ExpertBank(config.toBuilder().expertKind(ExpertKind.IDENTITY).build());
    assertThat(bank.expert(0, 0).kind()).isEqualTo(ExpertKind.IDENTITY);
    assertThat(bank.expert(1, 7).hidden()).isEqualTo(16);
    assertThat(bank.weights(1, 7)).isNull();
  }

  @Test
  void rejectsUnknownExperts() {
    ExpertBank bank = new ExpertBank(config);
    assertThatThrownBy(() -> bank.expert(2, 0)).isInstanceOf(IndexOutOfBoundsException.class);
    assertThatThrownBy(() -> bank.expert(0, 8)).isInstanceOf(IndexOutOfBoundsException.class);
    assertThatThrownBy(() -> new ExpertBank(null)).isInstanceOf(NullPointerException.class);
  }

  @Test
  @Timeout(20)
  void concurrentFirstUsesAgreeOnOneInstance() throws Exception {
    ExpertBank bank = new ExpertBank(config.toBuilder().experts(64).build());
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<CompletableFuture<ExpertFfn[]>> results = new ArrayList<>();
      for (int thread = 0; thread < 4; thread++) {
        results.add(
            CompletableFuture.supplyAsync(
                () -> {
                  ExpertFfn[] seen = new ExpertFfn[2 * 64];
                  for (int n = 0; n < seen.length; n++) {
                    seen[n] = bank.expert(n / 64, n % 64);
                  }
                  return seen;
                },
                pool));
      }
      ExpertFfn[] first = results.get(0).get(10, TimeUnit.SECONDS);
      for (CompletableFuture<ExpertFfn[]> result : results) {
        ExpertFfn[] seen = result.get(10, TimeUnit.SECONDS);
        for (int n = 0; n < seen.length; n++) {
          assertThat(seen[n]).isSameAs(first[n]);
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
