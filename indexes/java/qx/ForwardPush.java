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
 *
 * <p>Nodes are stored in a given order (e.g. reverse Cuthill-McKee), so that what a walk touches lies
 * close together in memory; the rounds still visit the frontier by original node id and each node's
 * edges in their original order, so the sums, and the estimates, are those of the original graph.
 */
public final class ForwardPush {
  private final int[] indptr; // rows in storage order
  private final int[] indices; // storage ids, each row in its original order
  private final double[] weights; // null: every edge weighs 1
  private final double[] degree; // by storage id
  private final int[] order; // storage id -> original id
  private final int[] rank; // original id -> storage id
  private final ThreadLocal<Scratch> scratch;

  /** Offsets in a node's record: a walk touches each node's four numbers together (one cache line). */
  private static final int RESIDUAL = 0;
  private static final int INFLOW = 1;
  private static final int ESTIMATE = 2;
  private static final int DEGREE = 3;
  private static final int RECORD = 4;

  /**
   * Per-thread node records, their numbers zero between calls (only touched nodes are reset) but for
   * the degree; {@code marked}: a node collected for the result.
   */
  private static final class Scratch {
    final double[] node;
    final boolean[] marked;
    int[] touched = new int[1024];
    int touchedCount;

    Scratch(double[] degree) {
      node = new double[RECORD * degree.length];
      for (int v = 0; v < degree.length; v++) {
        node[RECORD * v + DEGREE] = degree[v];
      }
      marked = new boolean[degree.length];
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
   * (empty: all 1) and {@code degree} as float64, {@code order} (int32, empty: as given) the original
   * id of each stored node.
   */
  public ForwardPush(byte[] indptr, byte[] indices, byte[] weights, byte[] degree, byte[] order) {
    int[] rows = ints(indptr);
    int[] columns = ints(indices);
    double[] values = weights.length == 0 ? null : doubles(weights);
    double[] degrees = doubles(degree);
    int size = degrees.length;
    this.order = new int[size];
    this.rank = new int[size];
    int[] given = order.length == 0 ? null : ints(order);
    for (int u = 0; u < size; u++) {
      this.order[u] = given == null ? u : given[u];
      this.rank[this.order[u]] = u;
    }
    this.indptr = new int[size + 1];
    this.indices = new int[columns.length];
    this.weights = values == null ? null : new double[values.length];
    this.degree = new double[size];
    for (int u = 0; u < size; u++) {
      int v = this.order[u];
      int length = rows[v + 1] - rows[v];
      this.indptr[u + 1] = this.indptr[u] + length;
      this.degree[u] = degrees[v];
      for (int j = 0; j < length; j++) {
        this.indices[this.indptr[u] + j] = this.rank[columns[rows[v] + j]];
        if (values != null) {
          this.weights[this.indptr[u] + j] = values[rows[v] + j];
        }
      }
    }
    this.scratch = ThreadLocal.withInitial(() -> new Scratch(this.degree));
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
      int u = rank[frontier[i]];
      s.node[RECORD * u + RESIDUAL] += mass[i];
      s.touch(u);
    }
    int[] targets = new int[1024];
    try {
      while (frontierSize > 0) {
        int targetCount = 0;
        for (int i = 0; i < frontierSize; i++) {
          int node = rank[frontier[i]]; // the frontier holds original ids, ascending, as numpy's
          int at = RECORD * node;
          double pushed = s.node[at + RESIDUAL];
          s.node[at + RESIDUAL] = 0.0;
          double deg = s.node[at + DEGREE];
          if (deg <= 0) {
            s.node[at + ESTIMATE] += pushed; // no edges: the walk there can only restart
            continue;
          }
          s.node[at + ESTIMATE] += (1.0 - damping) * pushed;
          double share = damping * pushed / deg;
          int end = indptr[node + 1];
          if (targetCount + end - indptr[node] > targets.length) {
            targets = Arrays.copyOf(targets, Math.max(2 * targets.length, targetCount + end - indptr[node]));
          }
          for (int e = indptr[node]; e < end; e++) {
            int target = indices[e];
            // No branch on what memory holds here, so the CPU overlaps the edges' cache misses: every
            // edge appends its target, and the repeats are skipped below (their inflow is taken once).
            s.node[RECORD * target + INFLOW] += weights == null ? share * 1.0 : share * weights[e];
            targets[targetCount++] = target;
          }
        }
        // Each target takes its inflow once, so their order does not matter; the next frontier is
        // sorted, as numpy's is (the order in which its pushes add up).
        frontierSize = 0;
        if (frontier.length < targetCount) {
          frontier = new int[targetCount];
        }
        for (int i = 0; i < targetCount; i++) {
          int target = targets[i];
          int at = RECORD * target;
          if (s.node[at + INFLOW] == 0.0) {
            continue; // a repeat (its inflow is taken), or inflow that changed nothing (numpy adds the zero
          }           // and finds the target below its threshold, which a node off the frontier is)
          double residual = s.node[at + RESIDUAL] + s.node[at + INFLOW];
          s.node[at + RESIDUAL] = residual;
          s.node[at + INFLOW] = 0.0;
          s.touch(target);
          if (residual >= Math.max(tolerance * s.node[at + DEGREE], tiny)) {
            frontier[frontierSize++] = order[target];
          }
        }
        Arrays.sort(frontier, 0, frontierSize);
      }
      // Only a node that pushed has an estimate: keep those that pass, once each, by original id.
      int kept = 0;
      int[] reached = new int[16];
      for (int i = 0; i < s.touchedCount; i++) {
        int node = s.touched[i];
        double estimate = s.node[RECORD * node + ESTIMATE];
        if (order[node] < maxNode && !s.marked[node] && estimate > 0 && estimate >= minScore) {
          s.marked[node] = true;
          if (kept == reached.length) {
            reached = Arrays.copyOf(reached, 2 * reached.length);
          }
          reached[kept++] = order[node];
        }
      }
      for (int i = 0; i < kept; i++) {
        s.marked[rank[reached[i]]] = false;
      }
      Arrays.sort(reached, 0, kept);
      ByteBuffer out = ByteBuffer.allocate(4 + 12 * kept).order(ByteOrder.LITTLE_ENDIAN);
      out.putInt(kept);
      for (int i = 0; i < kept; i++) {
        out.putInt(reached[i]);
      }
      for (int i = 0; i < kept; i++) {
        out.putDouble(s.node[RECORD * rank[reached[i]] + ESTIMATE]);
      }
      return out.array();
    } finally {
      for (int i = 0; i < s.touchedCount; i++) {
        int at = RECORD * s.touched[i];
        s.node[at + RESIDUAL] = 0.0;
        s.node[at + ESTIMATE] = 0.0;
      }
      s.touchedCount = 0;
    }
  }
}
