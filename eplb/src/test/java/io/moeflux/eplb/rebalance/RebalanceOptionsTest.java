package io.moeflux.eplb.rebalance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeflux.eplb.policy.BalancedPolicy;
import io.moeflux.eplb.policy.DeepSeekPolicy;
import org.junit.jupiter.api.Test;

class RebalanceOptionsTest {
  @Test
  void theDefaultsPlanWithTheBalancedPolicyBelowNinetyFivePercent() {
    RebalanceOptions d = RebalanceOptions.defaults();
    assertThat(d.policy()).isInstanceOf(BalancedPolicy.class);
    assertThat(d.balancedEnough()).isEqualTo(0.95);
    assertThat(d.minimumGain()).isEqualTo(0.01);
  }

  @Test
  void toBuilderKeepsEveryField() {
    RebalanceOptions o =
        RebalanceOptions.builder()
            .policy(new DeepSeekPolicy())
            .balancedEnough(0.9)
            .minimumGain(0)
            .build();
    assertThat(o.toBuilder().build()).isEqualTo(o).hasSameHashCodeAs(o);
    assertThat(o.toBuilder().minimumGain(0.05).build().minimumGain()).isEqualTo(0.05);
  }

  @Test
  void buildNamesTheWrongField() {
    assertThatThrownBy(() -> RebalanceOptions.builder().balancedEnough(0).build())
        .hasMessage("balancedEnough must be in (0, 1], got 0.0");
    assertThatThrownBy(() -> RebalanceOptions.builder().balancedEnough(1.5).build())
        .hasMessage("balancedEnough must be in (0, 1], got 1.5");
    assertThatThrownBy(() -> RebalanceOptions.builder().minimumGain(Double.NaN).build())
        .hasMessage("minimumGain must be >= 0, got NaN");
    assertThatThrownBy(() -> RebalanceOptions.builder().policy(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("policy");
  }
}
