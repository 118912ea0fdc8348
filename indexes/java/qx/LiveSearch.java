package qx;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.StoredFields;
import org.apache.lucene.search.Collector;
import org.apache.lucene.search.FilterCollector;
import org.apache.lucene.search.FilterLeafCollector;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.LeafCollector;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.TopScoreDocCollector;
import org.apache.lucene.util.FixedBitSet;

/**
 * qx-env's Lucene searches (indexes/_keyword.py): the hits of a batch of queries come back as arrays
 * in one call, so Python never touches a hit object, and removed items are skipped inside Lucene by
 * a bitset of live documents instead of being over-fetched and dropped. The top n is what
 * {@code IndexSearcher.search(query, n)} returns among the live documents (score descending, then
 * document id), with the same collector.
 */
public final class LiveSearch {
  /** The hit threshold of {@code IndexSearcher.search(query, n)}: totals are exact up to it. */
  private static final int TOTAL_HITS_THRESHOLD = 1000;

  /** Query i's hits are {@code docs[ends[i - 1]..ends[i])} (from 0 for the first). */
  public final int[] docs;
  public final float[] scores;
  public final int[] ends;

  private LiveSearch(int[] docs, float[] scores, int[] ends) {
    this.docs = docs;
    this.scores = scores;
    this.ends = ends;
  }

  /** Live documents from bits packed little-endian (bit i of byte j is document 8j + i). */
  public static FixedBitSet liveDocs(byte[] packed, int numDocs) {
    long[] words = new long[FixedBitSet.bits2words(numDocs)];
    if (packed.length != words.length * 8) {
      throw new IllegalArgumentException("need " + words.length * 8 + " bytes for " + numDocs + " documents, got " + packed.length);
    }
    ByteBuffer.wrap(packed).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(words);
    return new FixedBitSet(words, numDocs);
  }

  /**
   * The stored field {@code field} of every document, parsed as an int, by document id: one array,
   * where reading the ids of a million hits as Java strings through the bridge took 3.7 GiB.
   */
  public static int[] storedInts(IndexReader reader, String field) throws IOException {
    int[] values = new int[reader.maxDoc()];
    StoredFields stored = reader.storedFields();
    Set<String> only = Set.of(field);
    for (int doc = 0; doc < values.length; doc++) {
      values[doc] = Integer.parseInt(stored.document(doc, only).get(field));
    }
    return values;
  }

  /** The top {@code n} live hits of each query ({@code live} null: every document), on {@code threads} threads. */
  public static LiveSearch search(IndexSearcher searcher, Query[] queries, int n, FixedBitSet live, int threads)
      throws IOException, InterruptedException {
    TopDocs[] results = new TopDocs[queries.length];
    if (threads <= 1 || queries.length < 2) {
      for (int i = 0; i < queries.length; i++) {
        results[i] = top(searcher, queries[i], n, live);
      }
    } else {
      ForkJoinPool pool = new ForkJoinPool(threads);
      try {
        pool.submit(() -> IntStream.range(0, queries.length).parallel().forEach(i -> {
          try {
            results[i] = top(searcher, queries[i], n, live);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        })).get();
      } catch (ExecutionException e) {
        Throwable cause = e.getCause();
        if (cause instanceof UncheckedIOException) {
          throw ((UncheckedIOException) cause).getCause();
        }
        throw new RuntimeException(cause);
      } finally {
        pool.shutdown();
      }
    }
    int total = 0;
    int[] ends = new int[queries.length];
    for (int i = 0; i < queries.length; i++) {
      total += results[i].scoreDocs.length;
      ends[i] = total;
    }
    int[] docs = new int[total];
    float[] scores = new float[total];
    int at = 0;
    for (TopDocs result : results) {
      for (ScoreDoc hit : result.scoreDocs) {
        docs[at] = hit.doc;
        scores[at] = hit.score;
        at++;
      }
    }
    return new LiveSearch(docs, scores, ends);
  }

  private static TopDocs top(IndexSearcher searcher, Query query, int n, FixedBitSet live) throws IOException {
    TopScoreDocCollector collector = TopScoreDocCollector.create(n, TOTAL_HITS_THRESHOLD);
    searcher.search(query, live == null ? collector : onlyLive(collector, live));
    return collector.topDocs();
  }

  private static Collector onlyLive(Collector collector, FixedBitSet live) {
    return new FilterCollector(collector) {
      @Override
      public LeafCollector getLeafCollector(LeafReaderContext context) throws IOException {
        int base = context.docBase;
        return new FilterLeafCollector(super.getLeafCollector(context)) {
          @Override
          public void collect(int doc) throws IOException {
            if (live.get(base + doc)) {
              in.collect(doc);
            }
          }
        };
      }
    };
  }
}
