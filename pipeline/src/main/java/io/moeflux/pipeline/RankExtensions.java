package io.moeflux.pipeline;

import io.moeflux.pipeline.placement.PlacementSource;
import java.util.Objects;
import java.util.function.Function;

/**
 * What a rank is extended with, given when it starts: a factory for its {@link HeatTap} and one for
 * its {@link PlacementSource}, each called once per rank with that rank's {@link RankContext}.
 *
 * <p>A rank calls its factories after it has joined the mesh and every rank agreed on the DP
 * metadata sync, and before its first step: first the heat tap, then the placement source, on the
 * same thread. The ranks of a group may call them concurrently. What a factory makes is the
 * caller's to dispose. Defaults: {@link HeatTap#NONE} and {@link PlacementSource#NONE}.
 */
public final class RankExtensions {
  private static final RankExtensions NONE = builder().build();

  private final Function<? super RankContext, ? extends HeatTap> heatTaps;
  private final Function<? super RankContext, ? extends PlacementSource> placementSources;

  private RankExtensions(Builder b) {
    this.heatTaps = b.heatTaps;
    this.placementSources = b.placementSources;
  }

  /** No heat tap, no placement source. */
  public static RankExtensions none() {
    return NONE;
  }

  /** A builder holding the defaults: no heat tap, no placement source. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding these factories. */
  public Builder toBuilder() {
    return new Builder().heatTap(heatTaps).placementSource(placementSources);
  }

  HeatTap heatTapFor(RankContext context) {
    return Objects.requireNonNull(heatTaps.apply(context), "the heat tap factory returned null");
  }

  PlacementSource placementSourceFor(RankContext context) {
    return Objects.requireNonNull(
        placementSources.apply(context), "the placement source factory returned null");
  }

  /** Collects {@link RankExtensions}. */
  public static final class Builder {
    private Function<? super RankContext, ? extends HeatTap> heatTaps = context -> HeatTap.NONE;
    private Function<? super RankContext, ? extends PlacementSource> placementSources =
        context -> PlacementSource.NONE;

    private Builder() {}

    /**
     * Makes the rank's heat tap, which dispatch hands expert heat to on the main path; default
     * {@link HeatTap#NONE}.
     */
    public Builder heatTap(Function<? super RankContext, ? extends HeatTap> heatTaps) {
      this.heatTaps = Objects.requireNonNull(heatTaps, "heatTaps");
      return this;
    }

    /**
     * Makes the rank's placement source, asked at every switch step of {@link
     * PipelineConfig#switches()}; default {@link PlacementSource#NONE}. Called after the heat tap
     * factory of the same rank.
     */
    public Builder placementSource(
        Function<? super RankContext, ? extends PlacementSource> placementSources) {
      this.placementSources = Objects.requireNonNull(placementSources, "placementSources");
      return this;
    }

    public RankExtensions build() {
      return new RankExtensions(this);
    }
  }
}
