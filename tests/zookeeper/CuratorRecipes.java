/*
 * CuratorRecipes: Apache Curator's recipes, run against a ZooKeeper server (fkemu or the real one).
 *
 *   java -cp <classes>:<jars> CuratorRecipes HOST:PORT [--no-container-parents] [--only a,b]
 *
 * (tests/zookeeper/run_curator.sh compiles and runs it.) Each check runs with its own
 * CuratorFramework clients, each client its own ZooKeeper session, under a fresh root node
 * /curator-recipes-<time>-<random>, and prints one line:
 *
 *   PASS <name>
 *   FAIL <name>: <why>
 *
 * The FAIL line gives the exception the check caught (for a KeeperException: its code, number
 * and path, and the ZooKeeper and Curator calls that made the request). The "  | " lines after
 * it say which ZooKeeper operations failed while the check ran, from three more sources: errors
 * that Curator handled in the background and passed to its unhandled-error listeners; every
 * operation Curator traced (its AdvancedTracerDriver) whose return code was not OK; and every
 * create the ZooKeeper client made (RecordingZooKeeper), with its CreateMode and the request
 * (op code) it became. Lines starting with "NOTE" record an observation (e.g. how the parents
 * made by creatingParentContainersIfNeeded were created) and lines starting with "#" are
 * informational.
 *
 * The exit status is 0 only if every check passed (1 if one failed, 2 on a usage error). Time is
 * bounded: a check fails after 30 s, inner waits for an expected event give up after 10-15 s
 * (at once when the server answers UNIMPLEMENTED), no check starts after 100 s and a watchdog
 * ends the program after 115 s; threads are daemons and the program ends with System.exit.
 *
 * Recipes are used as an application would use them: each recipe's path is <root>/<check name>,
 * a node that does not exist yet, under a root that does. Curator's lock, latch and cache recipes
 * create their parent nodes with creatingParentContainersIfNeeded(), that is as CONTAINER nodes
 * (ZooKeeper's createContainer request, op code 19) whenever the ZooKeeper client library supports
 * them. --no-container-parents builds the clients with dontUseContainerParents(), so that Curator
 * creates those parents as plain PERSISTENT nodes (op code 1/15) instead: comparing the two runs
 * shows which failures are due to containers alone.
 *
 * Depends only on the Debian jars: curator-{client,framework,recipes}, zookeeper,
 * zookeeper-jute, guava, slf4j-api (and an slf4j binding, e.g. slf4j-nop).
 */

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.stream.Collectors;

import org.apache.curator.drivers.AdvancedTracerDriver;
import org.apache.curator.drivers.EventTrace;
import org.apache.curator.drivers.OperationTrace;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.CuratorWatcher;
import org.apache.curator.framework.api.transaction.CuratorTransactionResult;
import org.apache.curator.framework.api.transaction.OperationType;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.cache.NodeCache;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.queue.DistributedQueue;
import org.apache.curator.framework.recipes.queue.QueueBuilder;
import org.apache.curator.framework.recipes.queue.QueueConsumer;
import org.apache.curator.framework.recipes.queue.QueueSerializer;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.RetryNTimes;
import org.apache.curator.utils.ZookeeperFactory;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.client.ZKClientConfig;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Stat;

public final class CuratorRecipes {

    static final long CHECK_TIMEOUT_MS = 30_000;  // one check
    static final long BUDGET_MS = 100_000;        // no check starts after this (from the start)
    static final long HARD_LIMIT_MS = 115_000;    // the watchdog ends the program then
    static final long WAIT_MS = 10_000;           // an expected event, or one lock acquisition
    static final int SESSION_TIMEOUT_MS = 15_000;
    static final int CONNECT_TIMEOUT_MS = 10_000;

    static String connectString;
    static boolean containerParents = true;  // false: --no-container-parents
    static String root;                      // every check works under it

    // ---------------------------------------------------------------------------------------
    // The checks
    // ---------------------------------------------------------------------------------------

    interface Body {
        void run(Ctx ctx) throws Exception;
    }

    record Check(String name, Body body) {}

    static final List<Check> CHECKS = List.of(
        new Check("basic-ops", CuratorRecipes::basicOps),
        new Check("create-parent-containers", CuratorRecipes::createParentContainers),
        new Check("transaction", CuratorRecipes::transaction),
        new Check("ephemeral-close", CuratorRecipes::ephemeralClose),
        new Check("mutex", CuratorRecipes::mutex),
        new Check("mutex-reentrant", CuratorRecipes::mutexReentrant),
        new Check("leader-latch", CuratorRecipes::leaderLatch),
        new Check("distributed-queue", CuratorRecipes::distributedQueue),
        new Check("node-cache", CuratorRecipes::nodeCache),
        new Check("curator-cache", CuratorRecipes::curatorCache),
        new Check("ttl-nodes", CuratorRecipes::ttlNodes));

    /**
     * Plain CuratorFramework operations. creatingParentsIfNeeded() makes the missing parents as
     * PERSISTENT nodes (the create requests say so and ephemeralOwner is 0); versions work (a stale setData is BADVERSION);
     * creating an existing node is NODEEXISTS, creating under a missing parent without the
     * option is NONODE, deleting a node with children is NOTEMPTY; sequential nodes get
     * increasing 10-digit suffixes; deletingChildrenIfNeeded() removes a whole subtree.
     */
    static void basicOps(Ctx ctx) throws Exception {
        CuratorFramework c = ctx.newClient();
        String base = ctx.base, leaf = base + "/a/b/c";
        String created = c.create().creatingParentsIfNeeded().forPath(leaf, bytes("c0"));
        expect(leaf.equals(created), "create returned %s, expected %s", created, leaf);
        for (String p : List.of(base, base + "/a", base + "/a/b")) {
            Stat s = c.checkExists().forPath(p);
            expect(s != null, "parent %s was not created", p);
            expect(s.getEphemeralOwner() == 0, "parent %s should be PERSISTENT, is %s", p,
                   kind(s.getEphemeralOwner()));
            expect(ctx.diag.createdAs(p).startsWith("PERSISTENT "), "parent %s was created as %s",
                   p, ctx.diag.createdAs(p));
        }
        Stat st = new Stat();
        expectData(c.getData().storingStatIn(st).forPath(leaf), "c0", "getData " + leaf);
        expect(st.getVersion() == 0, "a new node has version %d, expected 0", st.getVersion());
        Stat set = c.setData().withVersion(0).forPath(leaf, bytes("c1"));
        expect(set.getVersion() == 1, "setData returned version %d, expected 1", set.getVersion());
        expectData(c.getData().forPath(leaf), "c1", "getData after setData");
        expectKeeperError(KeeperException.Code.BADVERSION, "setData with the stale version 0",
                          () -> c.setData().withVersion(0).forPath(leaf, bytes("stale")));
        expectKeeperError(KeeperException.Code.NODEEXISTS, "create of an existing node",
                          () -> c.create().forPath(leaf));
        expectKeeperError(KeeperException.Code.NONODE, "create under a missing parent",
                          () -> c.create().forPath(base + "/missing/x"));
        expectKeeperError(KeeperException.Code.NOTEMPTY, "delete of a node with children",
                          () -> c.delete().forPath(base + "/a"));
        List<String> kids = c.getChildren().forPath(base + "/a/b");
        expect(kids.equals(List.of("c")), "children of %s/a/b are %s, expected [c]", base, kids);

        String s0 = c.create().creatingParentsIfNeeded().withMode(CreateMode.PERSISTENT_SEQUENTIAL)
                     .forPath(base + "/seq/s-");
        String s1 = c.create().withMode(CreateMode.PERSISTENT_SEQUENTIAL).forPath(base + "/seq/s-");
        expect(s0.matches(".*/s-\\d{10}") && s1.matches(".*/s-\\d{10}") && s1.compareTo(s0) > 0,
               "sequential creates returned %s then %s (expected increasing 10-digit suffixes)",
               s0, s1);

        c.delete().deletingChildrenIfNeeded().forPath(base);
        expect(c.checkExists().forPath(base) == null, "%s still exists after a recursive delete",
               base);
    }

    /**
     * creatingParentContainersIfNeeded(): Curator first tries the create; on NONODE it makes each
     * missing parent (ZKPaths.mkdirs) with CreateMode.CONTAINER, i.e. ZooKeeper's createContainer
     * request (op code 19). Asserts the leaf and its parents exist. ZooKeeper reports a
     * container's ephemeralOwner as 0, like a PERSISTENT node's (DataNode.copyStat), so what
     * the parents are is taken from the creates the client made (RecordingZooKeeper) and printed
     * as a NOTE.
     */
    static void createParentContainers(Ctx ctx) throws Exception {
        CuratorFramework c = ctx.newClient();
        String leaf = ctx.base + "/x/leaf";
        c.create().creatingParentContainersIfNeeded().forPath(leaf, bytes("leaf"));
        expectData(c.getData().forPath(leaf), "leaf", "getData " + leaf);
        List<String> kinds = new ArrayList<>();
        for (String p : List.of(ctx.base, ctx.base + "/x")) {
            Stat s = c.checkExists().forPath(p);
            expect(s != null, "parent %s was not created", p);
            expect(s.getEphemeralOwner() == 0 || s.getEphemeralOwner() == Long.MIN_VALUE,
                   "parent %s is a %s node", p, kind(s.getEphemeralOwner()));
            kinds.add(p.substring(root.length()) + " " + ctx.diag.createdAs(p));
        }
        ctx.note("parents made by creatingParentContainersIfNeeded(): " + kinds
                 + (containerParents ? "" : " (clients built with dontUseContainerParents())"));
    }

    /**
     * Transactions (ZooKeeper's multi). transaction().forOperations(create, setData, check)
     * applies all three in order (the check sees the version the setData made) and returns one
     * result per operation; a transaction whose check fails throws BADVERSION and applies none
     * of its operations; the older inTransaction() API commits the same way.
     */
    @SuppressWarnings("deprecation")
    static void transaction(Ctx ctx) throws Exception {
        CuratorFramework c = ctx.newClient();
        String t = ctx.base;
        c.create().forPath(t, bytes("x0"));

        List<CuratorTransactionResult> rs = c.transaction().forOperations(
            c.transactionOp().create().forPath(t + "/a", bytes("a")),
            c.transactionOp().setData().forPath(t, bytes("x1")),
            c.transactionOp().check().withVersion(1).forPath(t));
        expect(rs.size() == 3, "the transaction returned %d results, expected 3", rs.size());
        List<OperationType> types = rs.stream().map(CuratorTransactionResult::getType).toList();
        expect(types.equals(List.of(OperationType.CREATE, OperationType.SET_DATA,
                                    OperationType.CHECK)),
               "result types %s", types);
        expect((t + "/a").equals(rs.get(0).getResultPath()), "the create's result path is %s",
               rs.get(0).getResultPath());
        expect(rs.get(1).getResultStat() != null && rs.get(1).getResultStat().getVersion() == 1,
               "the setData's result stat is %s", rs.get(1).getResultStat());
        expectData(c.getData().forPath(t), "x1", "getData after the transaction");
        expectData(c.getData().forPath(t + "/a"), "a", "getData of the created node");

        // The check fails (version 0, the node is at 1): nothing of the transaction is applied.
        expectKeeperError(KeeperException.Code.BADVERSION, "a transaction whose check fails",
                          () -> c.transaction().forOperations(
                              c.transactionOp().create().forPath(t + "/b", bytes("b")),
                              c.transactionOp().setData().forPath(t, bytes("x2")),
                              c.transactionOp().check().withVersion(0).forPath(t)));
        expect(c.checkExists().forPath(t + "/b") == null,
               "the failed transaction's create was applied");
        Stat st = new Stat();
        expectData(c.getData().storingStatIn(st).forPath(t), "x1",
                   "getData after the failed transaction");
        expect(st.getVersion() == 1, "the failed transaction changed the version to %d",
               st.getVersion());

        Collection<CuratorTransactionResult> old = c.inTransaction()
            .create().forPath(t + "/c", bytes("c"))
            .and().setData().withVersion(1).forPath(t, bytes("x3"))
            .and().check().forPath(t + "/a")
            .and().commit();
        expect(old.size() == 3, "inTransaction() returned %d results, expected 3", old.size());
        expectData(c.getData().forPath(t), "x3", "getData after inTransaction()");
        expect(c.checkExists().forPath(t + "/c") != null, "inTransaction() did not create %s/c", t);
    }

    /**
     * An ephemeral node goes with its session when the client closes (closeSession), and
     * another session sees it go: its exists-watch fires NodeDeleted and the node is absent.
     * It must be gone well before the session timeout, so that it is the close, not a session
     * expiry, that removed it.
     */
    static void ephemeralClose(Ctx ctx) throws Exception {
        CuratorFramework a = ctx.newClient(), b = ctx.newClient();
        String p = ctx.base + "/node";
        a.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(p, bytes("a"));
        long sessionA = a.getZookeeperClient().getZooKeeper().getSessionId();
        int timeoutA = a.getZookeeperClient().getZooKeeper().getSessionTimeout();

        CountDownLatch deleted = new CountDownLatch(1);
        Stat s = b.checkExists().usingWatcher((CuratorWatcher) e -> {
            if (e.getType() == Watcher.Event.EventType.NodeDeleted) deleted.countDown();
        }).forPath(p);
        expect(s != null, "the other session does not see the ephemeral node %s", p);
        expect(s.getEphemeralOwner() == sessionA, "ephemeralOwner is 0x%x, expected 0x%x",
               s.getEphemeralOwner(), sessionA);

        long t0 = System.nanoTime();
        a.close();
        expect(deleted.await(WAIT_MS, TimeUnit.MILLISECONDS),
               "no NodeDeleted for %s within %d s of closing its session", p, WAIT_MS / 1000);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        expect(b.checkExists().forPath(p) == null, "%s still exists after NodeDeleted", p);
        expect(ms < timeoutA, "the node went after %d ms, not before the session timeout (%d ms)",
               ms, timeoutA);
    }

    /**
     * InterProcessMutex, 4 clients x 3 threads, 25 acquisitions per client on one path. Inside
     * the critical section a shared counter is incremented non-atomically (read, sleep, write)
     * and an AtomicInteger counts the holders: it must never exceed 1 and no increment may be
     * lost. Afterwards no lock node is left.
     */
    static void mutex(Ctx ctx) throws Exception {
        final int clients = 4, threads = 3, perClient = 25;
        AtomicInteger holders = new AtomicInteger(), maxHolders = new AtomicInteger();
        AtomicInteger acquisitions = new AtomicInteger();
        // Guarded by the mutex alone. Visibility between holders comes from the holders counter:
        // a holder writes it (decrement) after its write, the next reads it (increment) before.
        int[] counter = {0};
        List<Future<?>> work = new ArrayList<>();
        CuratorFramework first = null;
        for (int i = 0; i < clients; ++i) {
            CuratorFramework c = ctx.newClient();
            if (first == null) first = c;
            InterProcessMutex m = new InterProcessMutex(c, ctx.base);  // shared by its threads
            AtomicInteger left = new AtomicInteger(perClient);
            for (int t = 0; t < threads; ++t) {
                work.add(ctx.pool.submit(() -> {
                    while (left.getAndDecrement() > 0) {
                        if (!m.acquire(WAIT_MS, TimeUnit.MILLISECONDS))
                            throw new CheckFailed("an acquisition took more than "
                                                  + WAIT_MS / 1000 + " s");
                        try {
                            int h = holders.incrementAndGet();
                            maxHolders.accumulateAndGet(h, Math::max);
                            int v = counter[0];
                            Thread.sleep(2);
                            counter[0] = v + 1;
                            acquisitions.incrementAndGet();
                            holders.decrementAndGet();
                        } finally {
                            m.release();
                        }
                    }
                    return null;
                }));
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(25);
        for (Future<?> f : work) getBefore(f, deadline, "the mutex workers");
        int expected = clients * perClient;
        expect(maxHolders.get() == 1, "%d threads held the mutex at once", maxHolders.get());
        expect(acquisitions.get() == expected, "%d acquisitions, expected %d", acquisitions.get(),
               expected);
        expect(counter[0] == expected, "the counter is %d after %d acquisitions (lost updates)",
               counter[0], expected);
        // The lock's parent is a container: once empty, the server may delete it (ZooKeeper's
        // container manager does within a minute, fkemu at once), so a missing parent counts
        // as no lock nodes left.
        List<String> left;
        try {
            left = first.getChildren().forPath(ctx.base);
        } catch (KeeperException.NoNodeException gone) {
            left = List.of();
        }
        expect(left.isEmpty(), "lock nodes left behind: %s", left);
    }

    /**
     * InterProcessMutex reentrancy: the thread that holds the mutex acquires it again (still one
     * lock node), and holds it until it has released it twice; while it is held another client
     * cannot acquire it; a third release is IllegalMonitorStateException; then the other client
     * can acquire it.
     */
    static void mutexReentrant(Ctx ctx) throws Exception {
        CuratorFramework a = ctx.newClient(), b = ctx.newClient();
        InterProcessMutex m = new InterProcessMutex(a, ctx.base);
        InterProcessMutex other = new InterProcessMutex(b, ctx.base);
        expect(m.acquire(WAIT_MS, TimeUnit.MILLISECONDS), "the first acquire timed out");
        expect(m.acquire(WAIT_MS, TimeUnit.MILLISECONDS), "the reentrant acquire timed out");
        expect(m.isOwnedByCurrentThread(), "not owned after acquiring twice");
        Collection<String> nodes = m.getParticipantNodes();
        expect(nodes.size() == 1, "%d lock nodes after a reentrant acquire, expected 1: %s",
               nodes.size(), nodes);
        expect(!other.acquire(500, TimeUnit.MILLISECONDS),
               "another client acquired the mutex while it was held");
        m.release();
        expect(m.isOwnedByCurrentThread(), "released after one of two releases");
        m.release();
        expect(!m.isOwnedByCurrentThread(), "still owned after two releases");
        try {
            m.release();
            throw new CheckFailed("a third release did not throw IllegalMonitorStateException");
        } catch (IllegalMonitorStateException expectedException) {
            // right: the mutex is no longer held
        }
        expect(other.acquire(WAIT_MS, TimeUnit.MILLISECONDS),
               "the other client could not acquire the released mutex");
        other.release();
    }

    /**
     * LeaderLatch, 3 clients on one path: one becomes leader and, sampled every 20 ms for 2 s,
     * exactly one latch has leadership and every latch names it as the leader. Closing the
     * leader's latch hands leadership to another latch; then again exactly one (sampled 1 s),
     * named by both, with 2 participants.
     */
    static void leaderLatch(Ctx ctx) throws Exception {
        List<LeaderLatch> latches = new ArrayList<>();
        try {
            for (int i = 0; i < 3; ++i) {
                LeaderLatch l = new LeaderLatch(ctx.newClient(), ctx.base, "participant-" + i);
                latches.add(l);
                l.start();
            }
            awaitTrue(ctx, () -> leaders(latches).size() == 1, WAIT_MS,
                      "one of 3 latches to lead");
            sampleOneLeader(latches, 2000);
            LeaderLatch first = leaders(latches).get(0);
            expectLeaderNamed(latches, first, 3);

            first.close();
            List<LeaderLatch> rest = new ArrayList<>(latches);
            rest.remove(first);
            awaitTrue(ctx, () -> leaders(rest).size() == 1, WAIT_MS,
                      "another latch to lead after the leader closed its latch");
            expect(!first.hasLeadership(), "the closed latch still has leadership");
            sampleOneLeader(rest, 1000);
            LeaderLatch second = leaders(rest).get(0);
            awaitTrue(ctx, () -> {
                try {
                    return second.getParticipants().size() == 2;
                } catch (Exception e) {
                    return false;
                }
            }, WAIT_MS, "the closed latch's node to go");
            expectLeaderNamed(rest, second, 2);
        } finally {
            for (LeaderLatch l : latches) {
                try {
                    if (l.getState() == LeaderLatch.State.STARTED) l.close();
                } catch (Exception ignored) {
                    // the clients are closed next anyway
                }
            }
        }
    }

    static List<LeaderLatch> leaders(List<LeaderLatch> latches) {
        return latches.stream().filter(LeaderLatch::hasLeadership).toList();
    }

    static void sampleOneLeader(List<LeaderLatch> latches, long ms) throws Exception {
        long t0 = System.nanoTime();
        for (long el = 0; el < ms; el = (System.nanoTime() - t0) / 1_000_000) {
            List<String> ids = leaders(latches).stream().map(LeaderLatch::getId).toList();
            expect(ids.size() == 1, "at +%d ms %d latches had leadership: %s", el, ids.size(), ids);
            Thread.sleep(20);
        }
    }

    static void expectLeaderNamed(List<LeaderLatch> latches, LeaderLatch leader, int participants)
        throws Exception {
        for (LeaderLatch l : latches) {
            String named = l.getLeader().getId();
            expect(leader.getId().equals(named), "%s names %s as the leader, %s has leadership",
                   l.getId(), named, leader.getId());
            int n = l.getParticipants().size();
            expect(n == participants, "%s sees %d participants, expected %d", l.getId(), n,
                   participants);
        }
    }

    /**
     * DistributedQueue (QueueBuilder, a String serializer): 2 producer clients put 100 items
     * (putInBackground(false): each put has created its node when it returns), 2 consumer
     * clients consume them. Every item is consumed exactly once (none lost, no duplicates,
     * within 15 s plus 0.5 s for late duplicates) and the queue node is left empty.
     */
    static void distributedQueue(Ctx ctx) throws Exception {
        final int n = 100;
        QueueSerializer<String> serializer = new QueueSerializer<>() {
            @Override
            public byte[] serialize(String item) {
                return bytes(item);
            }

            @Override
            public String deserialize(byte[] b) {
                return new String(b, StandardCharsets.UTF_8);
            }
        };
        Map<String, AtomicInteger> consumed = new ConcurrentHashMap<>();
        AtomicInteger total = new AtomicInteger();
        QueueConsumer<String> consumer = new QueueConsumer<>() {
            @Override
            public void consumeMessage(String item) {
                consumed.computeIfAbsent(item, k -> new AtomicInteger()).incrementAndGet();
                total.incrementAndGet();
            }

            @Override
            public void stateChanged(CuratorFramework client, ConnectionState state) {}
        };
        List<DistributedQueue<String>> queues = new ArrayList<>();
        try {
            for (int i = 0; i < 2; ++i) {
                DistributedQueue<String> q =
                    QueueBuilder.builder(ctx.newClient(), consumer, serializer, ctx.base)
                        .buildQueue();
                queues.add(q);
                q.start();
            }
            List<DistributedQueue<String>> producers = new ArrayList<>();
            for (int i = 0; i < 2; ++i) {
                DistributedQueue<String> q =  // a null consumer: a producer-only queue
                    QueueBuilder.builder(ctx.newClient(), null, serializer, ctx.base)
                        .putInBackground(false).buildQueue();
                queues.add(q);
                producers.add(q);
                q.start();
            }
            List<Future<?>> puts = new ArrayList<>();
            for (int p = 0; p < 2; ++p) {
                DistributedQueue<String> q = producers.get(p);
                int from = p * n / 2, to = (p + 1) * n / 2;
                puts.add(ctx.pool.submit(() -> {
                    for (int i = from; i < to; ++i) q.put(String.format("item-%03d", i));
                    return null;
                }));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            for (Future<?> f : puts) getBefore(f, deadline, "the producers");
            awaitTrue(ctx, () -> total.get() >= n, 15_000,
                      () -> "all " + n + " items to be consumed (" + total.get() + " so far)");
            Thread.sleep(500);  // a duplicate would come late
            Set<String> missing = new LinkedHashSet<>();
            for (int i = 0; i < n; ++i) {
                if (!consumed.containsKey(String.format("item-%03d", i)))
                    missing.add(String.format("item-%03d", i));
            }
            Map<String, Integer> dups = new TreeMap<>();
            consumed.forEach((k, v) -> {
                if (v.get() != 1) dups.put(k, v.get());
            });
            expect(missing.isEmpty(), "items never consumed: %s", missing);
            expect(dups.isEmpty(), "items consumed more than once: %s", dups);
            expect(consumed.size() == n, "%d distinct items consumed, expected %d",
                   consumed.size(), n);
            List<String> left = ctx.clients.get(0).getChildren().forPath(ctx.base);
            expect(left.isEmpty(), "queue nodes left behind: %s", left);
        } finally {
            for (DistributedQueue<String> q : queues) {
                try {
                    q.close();
                } catch (Exception ignored) {
                    // closing the clients next stops the rest
                }
            }
        }
    }

    /**
     * NodeCache on one node, written by another client one step at a time; after each step the
     * check waits until the cache's listener has seen its result: the create ("v0"), each of 5
     * setData ("v1".."v5", final version 5) and the delete (no current data).
     */
    @SuppressWarnings("deprecation")
    static void nodeCache(Ctx ctx) throws Exception {
        CuratorFramework watcher = ctx.newClient(), writer = ctx.newClient();
        String p = ctx.base;
        NodeCache cache = new NodeCache(watcher, p);
        List<String> seen = new CopyOnWriteArrayList<>();  // what the listener saw, in order
        cache.getListenable().addListener(() -> {
            ChildData d = cache.getCurrentData();
            seen.add(d == null ? "<none>" : new String(d.getData(), StandardCharsets.UTF_8));
        });
        try {
            cache.start(true);  // builds the initial state: the node does not exist yet
            expect(cache.getCurrentData() == null, "the cache has data before the create");
            writer.create().forPath(p, bytes("v0"));
            awaitSeen(ctx, seen, "v0", "the create");
            for (int i = 1; i <= 5; ++i) {
                writer.setData().forPath(p, bytes("v" + i));
                awaitSeen(ctx, seen, "v" + i, "setData #" + i);
            }
            ChildData d = cache.getCurrentData();
            expect(d != null && "v5".equals(new String(d.getData(), StandardCharsets.UTF_8))
                       && d.getStat().getVersion() == 5,
                   "final cached data %s, expected v5 at version 5", describe(d));
            writer.delete().forPath(p);
            awaitSeen(ctx, seen, "<none>", "the delete");
        } finally {
            cache.close();
        }
    }

    static void awaitSeen(Ctx ctx, List<String> seen, String value, String step) throws Exception {
        int from = seen.size() - 1;  // the value may have been seen already, just before
        awaitTrue(ctx, () -> seen.subList(Math.max(0, from), seen.size()).contains(value), WAIT_MS,
                  () -> "the NodeCache listener to see " + step + " (" + value + "); it saw "
                        + seen);
    }

    /**
     * TTL nodes (PERSISTENT_WITH_TTL and PERSISTENT_SEQUENTIAL_WITH_TTL; on a ZooKeeper only
     * with zookeeper.extendedTypesEnabled, on fkemu serve unless --no-ttl-nodes): created alone
     * and in a transaction, shown with ephemeralOwner 0; the server deletes each once it has no
     * children and no data change for its time to live (a watcher sees NodeDeleted), and keeps
     * one with a child until the child is gone.
     */
    static void ttlNodes(Ctx ctx) throws Exception {
        CuratorFramework c = ctx.newClient();
        String t = ctx.base;
        c.create().forPath(t);
        String lease = t + "/lease", held = t + "/held";
        c.create().withTtl(500).withMode(CreateMode.PERSISTENT_WITH_TTL).forPath(lease, bytes("l"));
        Stat st = c.checkExists().forPath(lease);
        expect(st != null && st.getEphemeralOwner() == 0, "the TTL node's stat is %s", st);
        List<CuratorTransactionResult> rs = c.transaction().forOperations(
            c.transactionOp().create().withTtl(500)
                .withMode(CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL).forPath(t + "/job-", bytes("j")));
        // (ZooKeeper answers a multi's createTTL as a create2, whose path Curator 5.4 does not
        // take into its result: the node is found by listing.)
        expect(rs.size() == 1 && rs.get(0).getType() == OperationType.CREATE,
               "the transaction's TTL create answered %s",
               rs.isEmpty() ? "nothing" : rs.get(0).getType());
        List<String> jobs = c.getChildren().forPath(t).stream()
                                .filter(n -> n.startsWith("job-")).toList();
        expect(jobs.size() == 1, "the transaction made the nodes %s", jobs);
        String job = t + "/" + jobs.get(0);
        c.create().withTtl(500).withMode(CreateMode.PERSISTENT_WITH_TTL).forPath(held);
        c.create().forPath(held + "/child");
        CountDownLatch deleted = new CountDownLatch(1);
        c.checkExists().usingWatcher((CuratorWatcher) e -> {
            if (e.getType() == Watcher.Event.EventType.NodeDeleted) deleted.countDown();
        }).forPath(lease);
        awaitTrue(ctx, () -> statOf(c, lease) == null && statOf(c, job) == null, 4 * WAIT_MS,
                  "the server to delete the expired TTL nodes " + lease + " and " + job);
        expect(deleted.await(WAIT_MS, TimeUnit.MILLISECONDS),
               "no NodeDeleted for the expired TTL node");
        expect(statOf(c, held) != null, "the TTL node with a child was deleted");
        c.delete().forPath(held + "/child");
        awaitTrue(ctx, () -> statOf(c, held) == null, 4 * WAIT_MS,
                  "the server to delete " + held + " once its child was gone");
    }

    // checkExists() for a lambda: an exception becomes an unchecked one.
    static Stat statOf(CuratorFramework c, String path) {
        try {
            return c.checkExists().forPath(path);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * CuratorCache on a subtree, written by another client step by step: the cache initializes
     * (on the missing base node), then sees the creates of the base, 3 children and a grandchild,
     * a data change of one child (final data equal) and the deletes of two children, and its
     * content is then exactly the base, the remaining child and the grandchild.
     */
    static void curatorCache(Ctx ctx) throws Exception {
        CuratorFramework watcher = ctx.newClient(), writer = ctx.newClient();
        String b = ctx.base;
        List<String> events = new CopyOnWriteArrayList<>();
        CountDownLatch initialized = new CountDownLatch(1);
        CuratorCacheListener listener = CuratorCacheListener.builder()
            .forCreates(n -> events.add("create " + rel(b, n)))
            .forChanges((o, n) -> events.add("change " + rel(b, n)))
            .forDeletes(o -> events.add("delete " + rel(b, o)))
            .forInitialized(initialized::countDown)
            .build();
        CuratorCache cache = CuratorCache.build(watcher, b);
        cache.listenable().addListener(listener);
        try {
            cache.start();
            awaitTrue(ctx, () -> initialized.getCount() == 0, WAIT_MS,
                      "the CuratorCache to initialize");

            writer.create().forPath(b, bytes("base"));
            for (String k : List.of("c1", "c2", "c3"))
                writer.create().forPath(b + "/" + k, bytes(k));
            writer.create().forPath(b + "/c2/g", bytes("g"));
            for (String e : List.of("create . base", "create c1 c1", "create c2 c2",
                                    "create c3 c3", "create c2/g g"))
                awaitTrue(ctx, () -> events.contains(e), WAIT_MS,
                          () -> "the CuratorCache listener to see \"" + e + "\"; it saw " + events);

            writer.setData().forPath(b + "/c2", bytes("c2-new"));
            awaitTrue(ctx, () -> events.contains("change c2 c2-new"), WAIT_MS,
                      () -> "the CuratorCache listener to see the change of c2; it saw " + events);

            writer.delete().forPath(b + "/c1");
            writer.delete().forPath(b + "/c3");
            for (String e : List.of("delete c1 c1", "delete c3 c3"))
                awaitTrue(ctx, () -> events.contains(e), WAIT_MS,
                          () -> "the CuratorCache listener to see \"" + e + "\"; it saw " + events);

            Set<String> content = cache.stream().map(n -> rel(b, n)).collect(Collectors.toSet());
            expect(content.equals(Set.of(". base", "c2 c2-new", "c2/g g")),
                   "the cache holds %s, expected [. base, c2 c2-new, c2/g g]", content);
        } finally {
            cache.close();
        }
    }

    /** "path data" of a cached node, the path relative to the cache's base ("." for the base). */
    static String rel(String base, ChildData n) {
        String p = n.getPath().equals(base) ? "." : n.getPath().substring(base.length() + 1);
        return p + " " + (n.getData() == null ? "<null>"
                                             : new String(n.getData(), StandardCharsets.UTF_8));
    }

    // ---------------------------------------------------------------------------------------
    // Running the checks
    // ---------------------------------------------------------------------------------------

    public static void main(String[] args) {
        List<String> only = null;
        for (int i = 0; i < args.length; ++i) {
            if (args[i].equals("--no-container-parents")) {
                containerParents = false;
            } else if (args[i].equals("--only") && i + 1 < args.length) {
                only = List.of(args[++i].split(","));
            } else if (connectString == null && !args[i].startsWith("-")) {
                connectString = args[i];
            } else {
                connectString = null;
                break;
            }
        }
        if (only != null) {
            Set<String> known = CHECKS.stream().map(Check::name).collect(Collectors.toSet());
            for (String o : only) {
                if (!known.contains(o)) {
                    System.err.println("unknown check " + o);
                    connectString = null;
                }
            }
        }
        if (connectString == null) {
            System.err.println("usage: java CuratorRecipes HOST:PORT [--no-container-parents]"
                               + " [--only check,check]\nchecks: "
                               + CHECKS.stream().map(Check::name)
                                     .collect(Collectors.joining(", ")));
            System.exit(2);
        }
        // fkemu answers SASL with ZUNIMPLEMENTED and none of the checks needs it.
        System.setProperty("zookeeper.sasl.client", "false");
        root = String.format("/curator-recipes-%d-%04x", System.currentTimeMillis(),
                             (int) (Math.random() * 0x10000));
        System.out.printf("# CuratorRecipes against %s, under %s, container parents %s%n",
                          connectString, root, containerParents ? "on" : "off");

        // Whatever hangs (a check, closing a client, the cleanup), the program ends in 2 min.
        Thread watchdog = daemons("watchdog").newThread(() -> {
            try {
                Thread.sleep(HARD_LIMIT_MS);
            } catch (InterruptedException e) {
                return;
            }
            System.out.printf("FAIL watchdog: still running after %d s%n", HARD_LIMIT_MS / 1000);
            System.out.flush();
            Runtime.getRuntime().halt(1);
        });
        watchdog.start();

        ExecutorService pool = Executors.newCachedThreadPool(daemons("check"));
        int passed = 0, failed = 0;
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(BUDGET_MS);

        String setupError = setupRoot(pool);
        if (setupError != null) {
            System.out.println("FAIL setup: could not create " + root + ": " + setupError);
            System.exit(1);
        }
        for (Check check : CHECKS) {
            if (only != null && !only.contains(check.name())) continue;
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (left < 5_000) {
                System.out.printf("FAIL %s: not run, the %d s budget of all checks is used up%n",
                                  check.name(), BUDGET_MS / 1000);
                ++failed;
                continue;
            }
            long timeout = Math.min(CHECK_TIMEOUT_MS, left);
            Ctx ctx = new Ctx(check.name());
            Future<?> f = pool.submit(() -> {
                check.body().run(ctx);
                return null;
            });
            String failure = null;
            try {
                f.get(timeout, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                f.cancel(true);
                failure = "timed out after " + timeout / 1000 + " s";
            } catch (ExecutionException e) {
                failure = describe(e.getCause());
            } catch (InterruptedException e) {
                failure = "interrupted";
            }
            ctx.closeAll();
            if (failure == null) {
                System.out.println("PASS " + check.name());
                ++passed;
            } else {
                System.out.println("FAIL " + check.name() + ": " + failure);
                for (String line : ctx.diag.report()) System.out.println("  | " + line);
                ++failed;
            }
            for (String note : ctx.notes) System.out.println("NOTE " + check.name() + ": " + note);
            System.out.flush();
        }
        cleanupRoot(pool);
        System.out.printf("# %d passed, %d failed%n", passed, failed);
        System.out.flush();
        System.exit(failed == 0 ? 0 : 1);
    }

    /** Creates the root (plain PERSISTENT parents); null, or why it failed. */
    static String setupRoot(ExecutorService pool) {
        Ctx ctx = new Ctx("setup");
        try {
            Future<?> f = pool.submit(() -> {
                ctx.newClient().create().creatingParentsIfNeeded().forPath(root);
                return null;
            });
            f.get(CONNECT_TIMEOUT_MS + 5_000, TimeUnit.MILLISECONDS);
            return null;
        } catch (ExecutionException e) {
            return describe(e.getCause());
        } catch (Exception e) {
            return describe(e);
        } finally {
            ctx.closeAll();
        }
    }

    /** Deletes the root and everything under it; best effort, bounded. */
    static void cleanupRoot(ExecutorService pool) {
        Ctx ctx = new Ctx("cleanup");
        try {
            pool.submit(() -> {
                ctx.newClient().delete().deletingChildrenIfNeeded().forPath(root);
                return null;
            }).get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            System.out.println("# cleanup of " + root + " failed: "
                               + describe(e instanceof ExecutionException ? e.getCause() : e));
        } finally {
            ctx.closeAll();
        }
    }

    /** What one check owns: its clients, its worker threads, its diagnostics and notes. */
    static final class Ctx {
        final String name;
        final String base;
        final Diag diag = new Diag();
        final List<CuratorFramework> clients = new CopyOnWriteArrayList<>();
        final List<String> notes = new CopyOnWriteArrayList<>();
        final ExecutorService pool;

        Ctx(String name) {
            this.name = name;
            this.base = root + "/" + name;
            this.pool = Executors.newCachedThreadPool(daemons(name));
        }

        /** A started client with its own session, connected (or CheckFailed after 10 s). */
        CuratorFramework newClient() throws Exception {
            String label = "client" + (clients.size() + 1);
            CuratorFrameworkFactory.Builder b = CuratorFrameworkFactory.builder()
                .connectString(connectString)
                .sessionTimeoutMs(SESSION_TIMEOUT_MS)
                .connectionTimeoutMs(CONNECT_TIMEOUT_MS)
                .retryPolicy(new RetryNTimes(3, 250))
                .waitForShutdownTimeoutMs(5_000)
                .zookeeperFactory(new ZookeeperFactory() {
                    @Override
                    public ZooKeeper newZooKeeper(String cs, int timeout, Watcher w, boolean ro)
                        throws Exception {
                        return new RecordingZooKeeper(cs, timeout, w, ro, null, diag);
                    }

                    @Override
                    public ZooKeeper newZooKeeper(String cs, int timeout, Watcher w, boolean ro,
                                                  ZKClientConfig config) throws Exception {
                        return new RecordingZooKeeper(cs, timeout, w, ro, config, diag);
                    }
                });
            if (!containerParents) b = b.dontUseContainerParents();
            CuratorFramework c = b.build();
            c.getZookeeperClient().setTracerDriver(diag);
            c.getUnhandledErrorListenable().addListener((msg, e) -> diag.unhandled(label, msg, e));
            c.getConnectionStateListenable().addListener((cl, st) -> diag.state(label, st));
            clients.add(c);
            c.start();
            if (!c.blockUntilConnected(CONNECT_TIMEOUT_MS, TimeUnit.MILLISECONDS))
                throw new CheckFailed(label + " did not connect to " + connectString + " within "
                                      + CONNECT_TIMEOUT_MS / 1000 + " s");
            return c;
        }

        void note(String s) {
            notes.add(s);
        }

        /** Stops the check's threads and closes its clients, waiting at most 10 s in all. */
        void closeAll() {
            pool.shutdownNow();
            ExecutorService closer = Executors.newCachedThreadPool(daemons(name + "-close"));
            List<Future<?>> fs = new ArrayList<>();
            for (CuratorFramework c : clients) fs.add(closer.submit(c::close));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            for (Future<?> f : fs) {
                try {
                    f.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (Exception ignored) {
                    // a client that does not close in time is a daemon thread: it dies with us
                }
            }
            closer.shutdownNow();
        }
    }

    /**
     * The ZooKeeper client with its synchronous creates recorded in the check's Diag: the node's
     * CreateMode, the request it became and the error code if it failed. Curator makes parents
     * with the 4-argument create (ZKPaths.mkdirs), even in background operations, and its
     * foreground creates with the 6-argument one; neither is traced by Curator when it fails.
     */
    @SuppressWarnings("try")  // ZooKeeper.close() throws InterruptedException; not used in a try
    static final class RecordingZooKeeper extends ZooKeeper {
        private final Diag diag;

        RecordingZooKeeper(String connect, int timeout, Watcher w, boolean readOnly,
                           ZKClientConfig config, Diag diag) throws IOException {
            super(connect, timeout, w, readOnly, config == null ? new ZKClientConfig() : config);
            this.diag = diag;
        }

        interface CreateCall {
            String call() throws KeeperException, InterruptedException;
        }

        @Override
        public String create(String path, byte[] data, List<ACL> acl, CreateMode mode)
            throws KeeperException, InterruptedException {
            // ZooKeeper.create: createContainer for a CONTAINER, otherwise create
            String op = mode.isContainer() ? "createContainer (op 19)" : "create (op 1)";
            return record(path, mode, op, () -> super.create(path, data, acl, mode));
        }

        @Override
        public String create(String path, byte[] data, List<ACL> acl, CreateMode mode, Stat stat,
                             long ttl) throws KeeperException, InterruptedException {
            // ZooKeeper.create with a Stat: createTTL, createContainer, otherwise create2
            String op = mode.isTTL() ? "createTTL (op 21)"
                        : mode.isContainer() ? "createContainer (op 19)" : "create2 (op 15)";
            return record(path, mode, op, () -> super.create(path, data, acl, mode, stat, ttl));
        }

        private String record(String path, CreateMode mode, String op, CreateCall call)
            throws KeeperException, InterruptedException {
            try {
                String created = call.call();
                diag.created(created, mode, op);
                return created;
            } catch (KeeperException e) {
                diag.createFailed(path, mode, op, e.code().intValue());
                throw e;
            }
        }
    }

    /**
     * The ZooKeeper errors seen during one check. Curator calls addTrace for the operations it
     * traces (the background ones always, with their return code); RecordingZooKeeper reports
     * the creates (created(), createFailed()); unhandled() gets the errors
     * of background operations that Curator gave up on (e.g. a parent create in ZKPaths.mkdirs);
     * state() the connection's SUSPENDED/LOST/RECONNECTED transitions.
     */
    static final class Diag extends AdvancedTracerDriver {
        // Return codes that recipes meet in their normal course (a lock node already deleted...).
        static final Set<Integer> ROUTINE = Set.of(KeeperException.Code.NONODE.intValue(),
                                                   KeeperException.Code.NODEEXISTS.intValue(),
                                                   KeeperException.Code.NOTEMPTY.intValue(),
                                                   KeeperException.Code.BADVERSION.intValue(),
                                                   KeeperException.Code.NOWATCHER.intValue());
        final long t0 = System.nanoTime();
        final Map<String, AtomicInteger> failedOps = new ConcurrentHashMap<>();
        final Map<String, AtomicInteger> routine = new ConcurrentHashMap<>();
        final Map<String, Set<String>> unhandled = new ConcurrentHashMap<>();  // -> clients
        final List<String> states = new CopyOnWriteArrayList<>();
        final Map<String, String> createdAs = new ConcurrentHashMap<>();  // path -> mode, request
        final AtomicInteger unimplemented = new AtomicInteger();  // UNIMPLEMENTED answers seen

        void created(String path, CreateMode mode, String op) {
            createdAs.put(path, mode + " (" + op.replace(" (", ", ").replace(")", "") + ")");
        }

        String createdAs(String path) {
            return createdAs.getOrDefault(path, "(not created by this check's clients)");
        }

        void createFailed(String path, CreateMode mode, String op, int rc) {
            if (rc == KeeperException.Code.UNIMPLEMENTED.intValue())
                unimplemented.incrementAndGet();
            if (ROUTINE.contains(rc)) {
                routine.computeIfAbsent(codeName(rc), k -> new AtomicInteger()).incrementAndGet();
                return;
            }
            String key = "ZooKeeper.create " + mode + ", request " + op + " -> " + codeName(rc)
                         + " on " + shortPath(path);
            failedOps.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
        }

        @Override
        public void addTrace(OperationTrace trace) {
            int rc = trace.getReturnCode();
            if (rc == 0) return;
            if (rc == KeeperException.Code.UNIMPLEMENTED.intValue())
                unimplemented.incrementAndGet();
            if (ROUTINE.contains(rc)) {
                routine.computeIfAbsent(codeName(rc), k -> new AtomicInteger()).incrementAndGet();
            } else {
                String key = trace.getName() + request(trace.getName()) + " -> " + codeName(rc)
                             + " on " + shortPath(trace.getPath());
                failedOps.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
            }
        }

        @Override
        public void addEvent(EventTrace trace) {}

        void unhandled(String client, String msg, Throwable e) {
            for (Throwable t = e; t != null && t.getCause() != t; t = t.getCause()) {
                if (t instanceof KeeperException ke
                    && ke.code() == KeeperException.Code.UNIMPLEMENTED)
                    unimplemented.incrementAndGet();
            }
            unhandled.computeIfAbsent(msg + ": " + describe(e), k -> new ConcurrentSkipListSet<>())
                .add(client);
        }

        void state(String client, ConnectionState st) {
            if (st == ConnectionState.CONNECTED) return;
            states.add(client + " " + st + " at +" + (System.nanoTime() - t0) / 1_000_000 + " ms");
        }

        List<String> report() {
            List<String> out = new ArrayList<>();
            unhandled.forEach((k, cs) -> out.add("unhandled in " + String.join(", ", cs) + ": "
                                                  + k));
            failedOps.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(e -> out.add("failed: " + e.getKey() + times(e.getValue().get())));
            if (!routine.isEmpty())
                out.add("routine errors traced (recipes expect these): "
                        + new TreeMap<>(routine).entrySet().stream()
                              .map(e -> e.getKey() + times(e.getValue().get()))
                              .collect(Collectors.joining(", ")));
            if (!states.isEmpty()) out.add("connection: " + String.join(", ", states));
            if (out.isEmpty()) out.add("no ZooKeeper operation failed (no error traced)");
            return out.size() > 20 ? out.subList(0, 20) : out;
        }

        /** The request that a traced Curator operation sends, when there is only one. */
        static String request(String traceName) {
            String builder = traceName.replaceAll("-.*", "");
            String req = switch (builder) {
                case "AddWatchBuilderImpl" -> "addWatch, op 106";
                case "SetACLBuilderImpl" -> "setACL, op 7";
                case "GetACLBuilderImpl" -> "getACL, op 6";
                case "SyncBuilderImpl" -> "sync, op 9";
                case "ReconfigBuilderImpl" -> "reconfig, op 16";
                default -> null;
            };
            return req == null ? "" : " (request " + req + ")";
        }

        static String times(int n) {
            return n == 1 ? "" : " (x" + n + ")";
        }

        /** A lock/latch node's protection prefix and sequence number, made alike. */
        static String shortPath(String p) {
            if (p == null) return "<no path>";
            return p.replaceAll("_c_[0-9a-f-]{36}-", "_c_<uuid>-").replaceAll("\\d{10}$", "<seq>");
        }
    }

    // ---------------------------------------------------------------------------------------
    // Helpers
    // ---------------------------------------------------------------------------------------

    /** A check's own assertion failed. */
    static final class CheckFailed extends Exception {
        private static final long serialVersionUID = 1L;

        CheckFailed(String msg) {
            super(msg);
        }

        CheckFailed(String msg, Throwable cause) {
            super(msg, cause);
        }
    }

    static void expect(boolean ok, String fmt, Object... args) throws CheckFailed {
        if (!ok) throw new CheckFailed(String.format(fmt, args));
    }

    static void expectData(byte[] got, String want, String what) throws CheckFailed {
        String s = got == null ? null : new String(got, StandardCharsets.UTF_8);
        expect(want.equals(s), "%s returned %s, expected %s", what, s, want);
    }

    /** `op` must fail with a KeeperException of this code. */
    static void expectKeeperError(KeeperException.Code code, String what, Callable<?> op)
        throws CheckFailed {
        try {
            op.call();
        } catch (KeeperException e) {
            if (e.code() == code) return;
            throw new CheckFailed(what + ": expected " + codeName(code.intValue()) + ", got "
                                  + describe(e), e);
        } catch (Exception e) {
            throw new CheckFailed(what + ": expected " + codeName(code.intValue()) + ", got "
                                  + describe(e), e);
        }
        throw new CheckFailed(what + ": expected " + codeName(code.intValue())
                              + ", but it succeeded");
    }

    static void awaitTrue(Ctx ctx, BooleanSupplier cond, long ms, String what) throws Exception {
        awaitTrue(ctx, cond, ms, () -> what);
    }

    /**
     * Polls `cond` every 20 ms; after `ms`, fails with `what` (computed then, at the failure).
     * Gives up early once the server has answered UNIMPLEMENTED to one of the check's requests:
     * the recipe cannot get any further (the "  | " lines then say which request it was).
     */
    static void awaitTrue(Ctx ctx, BooleanSupplier cond, long ms, Supplier<String> what)
        throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        while (!cond.getAsBoolean()) {
            if (ctx.diag.unimplemented.get() > 0) {
                Thread.sleep(200);  // let the other clients' requests be answered and recorded
                throw new CheckFailed("gave up waiting for " + what.get() + ": the server answered "
                                      + codeName(KeeperException.Code.UNIMPLEMENTED.intValue()));
            }
            if (System.nanoTime() > deadline)
                throw new CheckFailed("waited " + ms / 1000 + " s for " + what.get());
            Thread.sleep(20);
        }
    }

    /** Waits for a worker; its exception becomes the check's. */
    static void getBefore(Future<?> f, long deadlineNanos, String what) throws Exception {
        try {
            f.get(Math.max(1, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new CheckFailed(what + " did not finish in time");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof Exception ex) throw ex;
            throw e;
        }
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** ZooKeeper's ephemeralOwner says what kind of node it is. */
    static String kind(long ephemeralOwner) {
        if (ephemeralOwner == 0) return "PERSISTENT";
        if (ephemeralOwner == Long.MIN_VALUE) return "CONTAINER";  // 0x8000000000000000
        if ((ephemeralOwner & 0xFF00000000000000L) == 0xFF00000000000000L) return "TTL";
        return String.format("EPHEMERAL(session 0x%x)", ephemeralOwner);
    }

    static String codeName(int rc) {
        KeeperException.Code c = KeeperException.Code.get(rc);
        return (c == null ? "code" : c.name()) + " (" + rc + ")";
    }

    static String describe(ChildData d) {
        return d == null ? "<none>"
                         : new String(d.getData(), StandardCharsets.UTF_8) + " at version "
                               + d.getStat().getVersion();
    }

    /**
     * One line for an exception and its causes. A KeeperException is shown as its code, number
     * and path and the calls that made the request: the ZooKeeper method, then the Curator
     * frames above it (e.g. "ZooKeeper.create <- ZKPaths.mkdirs <- CreateBuilderImpl$17.call").
     */
    static String describe(Throwable e) {
        List<String> parts = new ArrayList<>();
        Set<Throwable> seen = new LinkedHashSet<>();
        for (Throwable t = e; t != null && seen.add(t); t = t.getCause()) {
            if (t instanceof KeeperException ke) {
                parts.add("KeeperException " + codeName(ke.code().intValue()) + " on "
                          + (ke.getPath() == null ? "<no path>" : ke.getPath()) + " [in "
                          + calls(ke) + "]");
            } else if (t instanceof CheckFailed) {
                parts.add(t.getMessage());
            } else {
                parts.add(t.getClass().getSimpleName()
                          + (t.getMessage() == null ? "" : ": " + t.getMessage()));
            }
        }
        return String.join(" / caused by: ", parts);
    }

    /**
     * The calls that made the failed request: the ZooKeeper method, then its callers up to the
     * first recipe or CuratorRecipes frame (at most 8; RecordingZooKeeper's and Curator's retry
     * loop's frames left out), e.g. "ZooKeeper.create <- ZKPaths.mkdirs <- ... <-
     * StandardLockInternalsDriver.createsTheLock".
     */
    static String calls(Throwable t) {
        List<String> frames = new ArrayList<>();
        boolean started = false;
        for (StackTraceElement f : t.getStackTrace()) {
            String cls = f.getClassName();
            if (!started && !cls.equals("org.apache.zookeeper.ZooKeeper")) continue;
            started = true;
            if (cls.startsWith(RecordingZooKeeper.class.getName())
                || cls.startsWith("org.apache.curator.RetryLoop")
                || cls.startsWith("org.apache.curator.connection."))
                continue;
            String name = cls.substring(cls.lastIndexOf('.') + 1) + "." + f.getMethodName();
            if (!frames.isEmpty() && frames.get(frames.size() - 1).equals(name)) continue;
            frames.add(name);
            if (cls.startsWith("org.apache.curator.framework.recipes.")
                || cls.startsWith(CuratorRecipes.class.getName())
                || name.equals("CuratorFrameworkImpl.backgroundOperationsLoop")
                || frames.size() == 8)
                break;
        }
        if (frames.isEmpty()) {  // not thrown by org.apache.zookeeper.ZooKeeper itself
            for (StackTraceElement f : t.getStackTrace()) {
                if (f.getClassName().startsWith("org.apache.zookeeper.KeeperException")) continue;
                String cls = f.getClassName();
                frames.add(cls.substring(cls.lastIndexOf('.') + 1) + "." + f.getMethodName());
                if (frames.size() == 4) break;
            }
        }
        return String.join(" <- ", frames);
    }

    static ThreadFactory daemons(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
