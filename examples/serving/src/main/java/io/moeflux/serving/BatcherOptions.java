package io.moeflux.serving;

/**
 * How a {@link RequestBatcher} takes requests. Build with {@link #builder()}; {@link #defaults()}
 * has every default.
 *
 * @param maxQueuedRequests requests that may wait per rank before a new one is refused at once
 *     (default 1024)
 */
public record BatcherOptions(int maxQueuedRequests) {
  public static final int DEFAULT_MAX_QUEUED_REQUESTS = 1024;

  public BatcherOptions {
    if (maxQueuedRequests < 1) {
      throw new IllegalArgumentException(
          "maxQueuedRequests must be >= 1, got " + maxQueuedRequests);
    }
  }

  public static BatcherOptions defaults() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Options for {@link RequestBatcher}; {@link #build()} checks them, naming the field. */
  public static final class Builder {
    private int maxQueuedRequests = DEFAULT_MAX_QUEUED_REQUESTS;

    private Builder() {}

    /** Requests that may wait per rank (default 1024); one more is refused at once. */
    public Builder maxQueuedRequests(int maxQueuedRequests) {
      this.maxQueuedRequests = maxQueuedRequests;
      return this;
    }

    public BatcherOptions build() {
      return new BatcherOptions(maxQueuedRequests);
    }
  }
}
