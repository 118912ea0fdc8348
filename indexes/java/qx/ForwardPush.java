package qx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Personalized PageRank by forward push over an undirected CSR graph, for indexes/_pagerank.py: the
 * same rounds as its numpy implementation, with the same floating-point operations in the same order,
 * so both give the same estimates to the bit. Here a query is one call instead of a dozen numpy calls
 * per round. Arrays cross the bridge as little-endian bytes (a Java array would arrive in Python as a
 * list, element by element).
 */
public final class ForwardPush {
  private final int[] indptr;
  private final int[] indices;
  private final double[] weights; // null: every edge weighs 1
  private final double[] degree;
  private final ThreadLocal<Scratch> scratch;

  /** Per-thread arrays over the nodes, zero between calls (only touched entries are reset). */
  private static final class Scratch {
    final double[] residual;
    final double[] estimate;
    final double[] inflow;
    final boolean[] marked;
    int[] touched = new int[1024];
    int touchedCount;

    Scratch(int size) {
      residual = new double[size];
      estimate = new double[size];
      inflow = new double[size];
      marked = new boolean[size];
    }

    void touch(int node) {
      if (touchedCount == touched.length) {
        touched = Arrays.copyOf(touched, 2 * touched.length);
      }
      touched[touchedCount++] = node;
    }
  }

  /**
   * The graph from little-endian bytes: {@code indptr} and {@code indices} as int32, {@code weights}
   * (empty: all 1) and {@code degree} as float64.
   */
  public ForwardPush(byte[] indptr, byte[] indices, byte[] weights, byte[] degree) {
    this.indptr = ints(indptr);
    this.indices = ints(indices);
    this.weights = weights.length == 0 ? null : doubles(weights);
    this.degree = doubles(degree);
    int size = this.degree.length;
    this.scratch = ThreadLocal.withInitial(() -> new Scratch(size));
  }

  private static int[] ints(byte[] bytes) {
    int[] values = new int[bytes.length / 4];
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(values);
    return values;
  }

  private static double[] doubles(byte[] bytes) {
    double[] values = new double[bytes.length / 8];
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(values);
    return values;
  }

  /**
   * Push from {@code seeds} (distinct, ascending int32) holding {@code start} (float64) of residual
   * mass. Returns, as bytes, the count m (int32), then the m nodes below {@code maxNode} whose
   * estimate is at least {@code minScore} and positive (int32, ascending), then their estimates.
   */
  public byte[] push(byte[] seeds, byte[] start, double tolerance, double damping, double tiny,
                     int maxNode, double minScore) {
    Scratch s = scratch.get();
    int[] frontier = ints(seeds);
    double[] mass = doubles(start);
    int frontierSize = frontier.length;
    s.touchedCount = 0;
    for (int i = 0; i < frontierSize; i++) {
      s.residual[frontier[i]] += mass[i];
      s.touch(frontier[i]);
    }
    int[] targets = new int[1024];
    try {
      while (frontierSize > 0) {
        int targetCount = 0;
        for (int i = 0; i < frontierSize; i++) {
          int node = frontier[i];
          double pushed = s.residual[node];
          s.residual[node] = 0.0;
          double deg = degree[node];
          if (deg <= 0) {
            s.estimate[node] += pushed; // no edges: the walk there can only restart
            continue;
          }
          s.estimate[node] += (1.0 - damping) * pushed;
          double share = damping * pushed / deg;
          for (int e = indptr[node]; e < indptr[node + 1]; e++) {
            int target = indices[e];
            s.inflow[target] += weights == null ? share * 1.0 : share * weights[e];
            if (!s.marked[target]) {
              s.marked[target] = true;
              if (targetCount == targets.length) {
                targets = Arrays.copyOf(targets, 2 * targets.length);
              }
              targets[targetCount++] = target;
            }
          }
        }
        Arrays.sort(targets, 0, targetCount);
        frontierSize = 0;
        if (frontier.length < targetCount) {
          frontier = new int[targetCount];
        }
        for (int i = 0; i < targetCount; i++) {
          int target = targets[i];
          s.residual[target] += s.inflow[target];
          s.inflow[target] = 0.0;
          s.marked[target] = false;
          s.touch(target);
          if (s.residual[target] >= Math.max(tolerance * degree[target], tiny)) {
            frontier[frontierSize++] = target;
          }
        }
      }
      int[] reached = Arrays.copyOf(s.touched, s.touchedCount);
      Arrays.sort(reached);
      int kept = 0;
      for (int i = 0; i < reached.length; i++) {
        int node = reached[i];
        if ((i == 0 || node != reached[i - 1]) && node < maxNode && s.estimate[node] > 0
            && s.estimate[node] >= minScore) {
          reached[kept++] = node;
        }
      }
      ByteBuffer out = ByteBuffer.allocate(4 + 12 * kept).order(ByteOrder.LITTLE_ENDIAN);
      out.putInt(kept);
      for (int i = 0; i < kept; i++) {
        out.putInt(reached[i]);
      }
      for (int i = 0; i < kept; i++) {
        out.putDouble(s.estimate[reached[i]]);
      }
      return out.array();
    } finally {
      for (int i = 0; i < s.touchedCount; i++) {
        int node = s.touched[i];
        s.residual[node] = 0.0;
        s.estimate[node] = 0.0;
      }
      s.touchedCount = 0;
    }
  }
}
