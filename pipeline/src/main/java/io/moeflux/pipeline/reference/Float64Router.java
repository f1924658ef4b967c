package io.moeflux.pipeline.reference;

/** A family's router in double precision: one token's top-k experts and their weights. */
interface Float64Router {

  int topK();

  /**
   * Routes the token at {@code x[offset .. offset+hidden)}: writes its k expert ids (descending
   * selection value, lower id first on ties) to {@code ids[at..at+k)} and the weights its experts'
   * outputs get (scaling included) to {@code weights[at..at+k)}.
   *
   * @return the token's smallest selection gap (see {@link Float64Routing#gaps()})
   */
  double route(double[] x, int offset, int[] ids, double[] weights, int at);

  /** {@code sum_h w[row][h] * x[offset + h]} in double. */
  static double dot(float[] w, int row, int hidden, double[] x, int offset) {
    double sum = 0;
    int base = row * hidden;
    for (int h = 0; h < hidden; h++) {
      sum += (double) w[base + h] * x[offset + h];
    }
    return sum;
  }
}
