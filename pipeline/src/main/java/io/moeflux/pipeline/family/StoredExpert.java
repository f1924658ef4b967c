package io.moeflux.pipeline.family;

import io.moeflux.pipeline.checkpoint.ExpertTensors;
import io.moeflux.pipeline.checkpoint.StoredTensor;
import io.moeflux.pipeline.checkpoint.TensorDtype;
import io.moeflux.pipeline.kernel.ExpertKernel;
import io.moeflux.pipeline.kernel.PackedExpert;
import io.moeflux.pipeline.kernel.WeightFormat;
import io.moeflux.pipeline.kernel.WeightMatrix;
import io.moeflux.pipeline.model.ExpertWeights;
import io.moeflux.pipeline.model.PackedSwigluFfn;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A checkpoint's SwiGLU expert: its {@code [out, in]} matrices packed once by an {@link
 * ExpertKernel}, in their stored precision (bf16 and f16 stay 16 bits), and computed by it. The
 * tensors read from the checkpoint are not kept.
 */
public final class StoredExpert extends PackedSwigluFfn {
  public StoredExpert(ExpertTensors tensors, ExpertKernel kernel) {
    super(
        pack(Objects.requireNonNull(tensors, "tensors"), Objects.requireNonNull(kernel, "kernel")));
  }

  private static PackedExpert pack(ExpertTensors tensors, ExpertKernel kernel) {
    return kernel.pack(matrix(tensors.gate()), matrix(tensors.up()), matrix(tensors.down()));
  }

  private static WeightMatrix matrix(StoredTensor t) {
    WeightMatrix.Layout layout = WeightMatrix.Layout.OUT_IN;
    short[] halves = t.halves();
    if (halves == null) {
      return WeightMatrix.ofFloats(t.rows(), t.cols(), layout, Objects.requireNonNull(t.floats()));
    }
    WeightFormat format = t.dtype() == TensorDtype.BF16 ? WeightFormat.BF16 : WeightFormat.F16;
    return WeightMatrix.ofHalves(format, t.rows(), t.cols(), layout, halves);
  }

  /** None: a checkpoint's experts are loaded from the checkpoint, not handed over. */
  @Override
  public @Nullable ExpertWeights weights() {
    return null;
  }

  /** Same kernel, shapes, formats and weights (each compared widened, so bit for bit). */
  public boolean sameWeights(StoredExpert other) {
    PackedExpert a = packed();
    PackedExpert b = other.packed();
    if (!a.kernel().equals(b.kernel())
        || a.hidden() != b.hidden()
        || a.intermediate() != b.intermediate()) {
      return false;
    }
    for (PackedExpert.Matrix m : PackedExpert.Matrix.values()) {
      if (a.format(m) != b.format(m)) {
        return false;
      }
      int outputs = m == PackedExpert.Matrix.DOWN ? a.hidden() : a.intermediate();
      int inputs = m == PackedExpert.Matrix.DOWN ? a.intermediate() : a.hidden();
      for (int o = 0; o < outputs; o++) {
        for (int i = 0; i < inputs; i++) {
          if (Float.floatToRawIntBits(a.weight(m, o, i))
              != Float.floatToRawIntBits(b.weight(m, o, i))) {
            return false;
          }
        }
      }
    }
    return true;
  }
}
