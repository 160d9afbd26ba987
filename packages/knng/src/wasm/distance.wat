;; Distance kernels of a vector space, f32x4 SIMD: squared Euclidean
;; distance (l2) or inner product (ip) of a query with many stored rows,
;; and the expansion of a node of a graph over the rows.
;;
;; Memory layout (byte addresses, 16-aligned, chosen by the JS side and
;; passed once to $init): the query slot (rb bytes), ids (i32 per entry),
;; out (f32 per entry, 3 spare), the stored rows (rb bytes each,
;; zero-padded to a multiple of 4 floats), then optionally the graph: eb
;; bytes of i32 neighbour ids per row (-1 = none) and rows + 1 visited
;; stamps (the last one, the sentinel that -1 maps to, always "seen"). A
;; query is any address of rb bytes: the query slot or a stored row.
;;
;; scripts/build-wasm.ts also builds a variant that imports a shared
;; memory instead of defining its own (the line marked @shared): instances
;; on several threads then read one copy of the rows and the graph, each
;; with its own query slot, ids, out and visited stamps elsewhere in it.
;;
;; Every result is summed the same way, whichever function computes it:
;; one f32x4 accumulator per pair over the row's 4-float groups in
;; ascending order, then the lanes as (l0 + l2) + (l1 + l3). So a pair has
;; one value (bit for bit) in every kernel, and d(x, y) = d(y, x). Rows go
;; four at a time (four independent accumulators in flight); a tail of 1-3
;; rows is padded with copies of its first row, whose extra results land
;; in out's spare entries (or in the next tile row, written later).
(module
  (memory (export "memory") 0) ;; @shared (memory (export "memory") (import "env" "memory") 0 65536 shared)
  (global $query (mut i32) (i32.const 0))
  (global $rb (mut i32) (i32.const 16))
  (global $base (mut i32) (i32.const 0))
  (global $ids (mut i32) (i32.const 0))
  (global $out (mut i32) (i32.const 0))
  (global $ip (mut i32) (i32.const 0))
  (global $edges (mut i32) (i32.const 0))
  (global $eb (mut i32) (i32.const 0))
  (global $visited (mut i32) (i32.const 0))
  (global $sentinel1 (mut i32) (i32.const 0))
  ;; Receives the touched lines, so the loads stay.
  (global $sink (mut v128) (v128.const i32x4 0 0 0 0))

  (func (export "init") (param $query i32) (param $rb i32) (param $base i32) (param $ids i32) (param $out i32)
        (param $ip i32) (param $edges i32) (param $eb i32) (param $visited i32) (param $rows i32)
    (global.set $query (local.get $query))
    (global.set $rb (local.get $rb))
    (global.set $base (local.get $base))
    (global.set $ids (local.get $ids))
    (global.set $out (local.get $out))
    (global.set $ip (local.get $ip))
    (global.set $edges (local.get $edges))
    (global.set $eb (local.get $eb))
    (global.set $visited (local.get $visited))
    (global.set $sentinel1 (i32.add (local.get $rows) (i32.const 1))))

  ;; The query at q against rows at a, b, c, d: 4 results stored at o.
  ;; Two 4-float groups per iteration (immediate offsets halve the address
  ;; arithmetic), then the odd group; the sums still run in ascending order.
  (func $four (param $q i32) (param $a i32) (param $b i32) (param $c i32) (param $d i32)
        (param $o i32)
    (local $end i32) (local $x v128) (local $e v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local.set $end (i32.add (local.get $q) (global.get $rb)))
    (if (global.get $ip)
      (then
        (block $pairsDone
          (loop $pairs
            (br_if $pairsDone (i32.gt_u (i32.add (local.get $q) (i32.const 32)) (local.get $end)))
          (local.set $x (v128.load offset=0 (local.get $q)))
          (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (local.get $x) (v128.load offset=0 (local.get $a)))))
          (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul (local.get $x) (v128.load offset=0 (local.get $b)))))
          (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul (local.get $x) (v128.load offset=0 (local.get $c)))))
          (local.set $s3 (f32x4.add (local.get $s3) (f32x4.mul (local.get $x) (v128.load offset=0 (local.get $d)))))
          (local.set $x (v128.load offset=16 (local.get $q)))
          (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (local.get $x) (v128.load offset=16 (local.get $a)))))
          (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul (local.get $x) (v128.load offset=16 (local.get $b)))))
          (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul (local.get $x) (v128.load offset=16 (local.get $c)))))
          (local.set $s3 (f32x4.add (local.get $s3) (f32x4.mul (local.get $x) (v128.load offset=16 (local.get $d)))))
          (local.set $a (i32.add (local.get $a) (i32.const 32)))
          (local.set $b (i32.add (local.get $b) (i32.const 32)))
          (local.set $c (i32.add (local.get $c) (i32.const 32)))
          (local.set $d (i32.add (local.get $d) (i32.const 32)))
          (local.set $q (i32.add (local.get $q) (i32.const 32)))
            (br $pairs)))
        (if (i32.lt_u (local.get $q) (local.get $end))
          (then
          (local.set $x (v128.load offset=0 (local.get $q)))
          (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (local.get $x) (v128.load offset=0 (local.get $a)))))
          (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul (local.get $x) (v128.load offset=0 (local.get $b)))))
          (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul (local.get $x) (v128.load offset=0 (local.get $c)))))
          (local.set $s3 (f32x4.add (local.get $s3) (f32x4.mul (local.get $x) (v128.load offset=0 (local.get $d))))))))
      (else
        (block $pairsDone
          (loop $pairs
            (br_if $pairsDone (i32.gt_u (i32.add (local.get $q) (i32.const 32)) (local.get $end)))
          (local.set $x (v128.load offset=0 (local.get $q)))
          (local.set $e (f32x4.sub (local.get $x) (v128.load offset=0 (local.get $a))))
          (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (local.get $e) (local.get $e))))
          (local.set $e (f32x4.sub (local.get $x) (v128.load offset=0 (local.get $b))))
          (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul (local.get $e) (local.get $e))))
          (local.set $e (f32x4.sub (local.get $x) (v128.load offset=0 (local.get $c))))
          (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul (local.get $e) (local.get $e))))
          (local.set $e (f32x4.sub (local.get $x) (v128.load offset=0 (local.get $d))))
          (local.set $s3 (f32x4.add (local.get $s3) (f32x4.mul (local.get $e) (local.get $e))))
          (local.set $x (v128.load offset=16 (local.get $q)))
          (local.set $e (f32x4.sub (local.get $x) (v128.load offset=16 (local.get $a))))
          (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (local.get $e) (local.get $e))))
          (local.set $e (f32x4.sub (local.get $x) (v128.load offset=16 (local.get $b))))
          (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul (local.get $e) (local.get $e))))
          (local.set $e (f32x4.sub (local.get $x) (v128.load offset=16 (local.get $c))))
          (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul (local.get $e) (local.get $e))))
          (local.set $e (f32x4.sub (local.get $x) (v128.load offset=16 (local.get $d))))
          (local.set $s3 (f32x4.add (local.get $s3) (f32x4.mul (local.get $e) (local.get $e))))
          (local.set $a (i32.add (local.get $a) (i32.const 32)))
          (local.set $b (i32.add (local.get $b) (i32.const 32)))
          (local.set $c (i32.add (local.get $c) (i32.const 32)))
          (local.set $d (i32.add (local.get $d) (i32.const 32)))
          (local.set $q (i32.add (local.get $q) (i32.const 32)))
            (br $pairs)))
        (if (i32.lt_u (local.get $q) (local.get $end))
          (then
          (local.set $x (v128.load offset=0 (local.get $q)))
          (local.set $e (f32x4.sub (local.get $x) (v128.load offset=0 (local.get $a))))
          (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (local.get $e) (local.get $e))))
          (local.set $e (f32x4.sub (local.get $x) (v128.load offset=0 (local.get $b))))
          (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul (local.get $e) (local.get $e))))
          (local.set $e (f32x4.sub (local.get $x) (v128.load offset=0 (local.get $c))))
          (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul (local.get $e) (local.get $e))))
          (local.set $e (f32x4.sub (local.get $x) (v128.load offset=0 (local.get $d))))
          (local.set $s3 (f32x4.add (local.get $s3) (f32x4.mul (local.get $e) (local.get $e))))))))
    ;; The lanes summed as (l0 + l2) + (l1 + l3), one result per lane:
    ;; s0 = [s0.0+s0.2, s1.0+s1.2, s0.1+s0.3, s1.1+s1.3], s2 likewise for s2, s3.
    (local.set $s0 (f32x4.add
      (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $s0) (local.get $s1))
      (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $s0) (local.get $s1))))
    (local.set $s2 (f32x4.add
      (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $s2) (local.get $s3))
      (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $s2) (local.get $s3))))
    (v128.store (local.get $o) (f32x4.add
      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $s0) (local.get $s2))
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $s0) (local.get $s2)))))

  ;; out[t] = the query at q against row ids[t], for t < n.
  ;; Scattered rows miss the caches: one load per 64-byte line of every
  ;; row first (independent loads, so their misses overlap; WebAssembly
  ;; has no prefetch instruction), then the distances.
  (func $many (export "many") (param $q i32) (param $n i32)
    (local $p i32) (local $end i32) (local $o i32) (local $a i32) (local $last i32)
    (local $touch v128)
    (local.set $p (global.get $ids))
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (block $touched
      (loop $next
        (br_if $touched (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $a (i32.add (global.get $base) (i32.mul (i32.load (local.get $p)) (global.get $rb))))
        (local.set $last (i32.add (local.get $a) (i32.sub (global.get $rb) (i32.const 16))))
        (loop $lines
          (local.set $touch (v128.or (local.get $touch) (v128.load (local.get $a))))
          (br_if $lines (i32.lt_u (local.tee $a (i32.add (local.get $a) (i32.const 64))) (local.get $last))))
        (local.set $touch (v128.or (local.get $touch) (v128.load (local.get $last))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $next)))
    (global.set $sink (local.get $touch))
    (local.set $p (global.get $ids))
    (local.set $o (global.get $out))
    ;; Fours, and a last padded four for a tail of 1 to 3 rows.
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $a (i32.add (global.get $base) (i32.mul (i32.load offset=0 (local.get $p)) (global.get $rb))))
        (call $four (local.get $q) (local.get $a)
          (select (i32.add (global.get $base) (i32.mul (i32.load offset=4 (local.get $p)) (global.get $rb))) (local.get $a)
            (i32.lt_u (i32.add (local.get $p) (i32.const 4)) (local.get $end)))
          (select (i32.add (global.get $base) (i32.mul (i32.load offset=8 (local.get $p)) (global.get $rb))) (local.get $a)
            (i32.lt_u (i32.add (local.get $p) (i32.const 8)) (local.get $end)))
          (select (i32.add (global.get $base) (i32.mul (i32.load offset=12 (local.get $p)) (global.get $rb))) (local.get $a)
            (i32.lt_u (i32.add (local.get $p) (i32.const 12)) (local.get $end)))
          (local.get $o))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $next))))

  ;; The query at q against rows r0 .. r0 + n - 1, results from address o
  ;; (a tail is padded as in $many: up to 3 more results may be written).
  (func $range (export "range") (param $q i32) (param $r0 i32) (param $n i32) (param $o i32)
    (local $a i32) (local $end i32) (local $rb i32)
    (local.set $rb (global.get $rb))
    (local.set $a (i32.add (global.get $base) (i32.mul (local.get $r0) (global.get $rb))))
    (local.set $end (i32.add (local.get $a) (i32.mul (local.get $n) (local.get $rb))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
        (call $four (local.get $q) (local.get $a)
          (select (i32.add (local.get $a) (local.get $rb)) (local.get $a)
            (i32.lt_u (i32.add (local.get $a) (local.get $rb)) (local.get $end)))
          (select (i32.add (local.get $a) (i32.shl (local.get $rb) (i32.const 1))) (local.get $a)
            (i32.lt_u (i32.add (local.get $a) (i32.shl (local.get $rb) (i32.const 1))) (local.get $end)))
          (select (i32.add (local.get $a) (i32.mul (local.get $rb) (i32.const 3))) (local.get $a)
            (i32.lt_u (i32.add (local.get $a) (i32.mul (local.get $rb) (i32.const 3))) (local.get $end)))
          (local.get $o))
        (local.set $a (i32.add (local.get $a) (i32.shl (local.get $rb) (i32.const 2))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $next))))

  ;; out[i * nj + j] = row i0 + i against row j0 + j, for i < ni, j < nj.
  (func (export "tile") (param $i0 i32) (param $ni i32) (param $j0 i32) (param $nj i32)
    (local $q i32) (local $end i32) (local $o i32) (local $ob i32)
    (local.set $q (i32.add (global.get $base) (i32.mul (local.get $i0) (global.get $rb))))
    (local.set $end (i32.add (local.get $q) (i32.mul (local.get $ni) (global.get $rb))))
    (local.set $o (global.get $out))
    (local.set $ob (i32.shl (local.get $nj) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $q) (local.get $end)))
        (call $range (local.get $q) (local.get $j0) (local.get $nj) (local.get $o))
        (local.set $q (i32.add (local.get $q) (global.get $rb)))
        (local.set $o (i32.add (local.get $o) (local.get $ob)))
        (br $next))))

  ;; Expands row r of the graph: its neighbours whose visited stamp is not
  ;; `epoch` go to ids (in edge order, or reversed), get the stamp, and
  ;; their distances to the query slot go to out. Returns how many.
  ;; Branch-free: whether a neighbour was seen is unpredictable; an edge of
  ;; -1 maps to the sentinel stamp, which the caller keeps at `epoch`.
  (func (export "expand") (param $r i32) (param $epoch i32) (param $reverse i32) (result i32)
    (local $p i32) (local $step i32) (local $end i32) (local $e i32) (local $v i32)
    (local $ids i32) (local $fresh i32)
    (local.set $p (i32.add (global.get $edges) (i32.mul (local.get $r) (global.get $eb))))
    (local.set $end (i32.add (local.get $p) (global.get $eb)))
    (local.set $step (i32.const 4))
    (if (local.get $reverse)
      (then
        (local.set $end (i32.sub (local.get $p) (i32.const 4)))
        (local.set $p (i32.add (local.get $end) (global.get $eb)))
        (local.set $step (i32.const -4))))
    (local.set $ids (global.get $ids))
    (block $done
      (loop $next
        (br_if $done (i32.eq (local.get $p) (local.get $end)))
        (local.set $e (i32.load (local.get $p)))
        (local.set $v (i32.add (global.get $visited) (i32.shl
          (i32.add (local.get $e) (i32.and (i32.shr_s (local.get $e) (i32.const 31)) (global.get $sentinel1)))
          (i32.const 2))))
        (i32.store (i32.add (local.get $ids) (i32.shl (local.get $fresh) (i32.const 2)))
          (i32.shr_u (i32.sub (local.get $v) (global.get $visited)) (i32.const 2)))
        (local.set $fresh (i32.add (local.get $fresh)
          (i32.ne (i32.load (local.get $v)) (local.get $epoch))))
        (i32.store (local.get $v) (local.get $epoch))
        (local.set $p (i32.add (local.get $p) (local.get $step)))
        (br $next)))
    (call $many (global.get $query) (local.get $fresh))
    (local.get $fresh))
)
