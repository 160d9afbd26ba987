;; AdaGrad kernels of the embedding trainer, f32x4 SIMD.
;;
;; Memory layout (byte addresses, 16-aligned, chosen by the JS driver and
;; passed once to $init):
;;   records:  one per feature, 2 * stride floats, W and G interleaved by
;;             vectors of 4 floats: W[0..4) G[0..4) W[4..8) G[4..8) ...
;;             so one update of 4 weights touches one 32-byte block and both
;;             are addressed with immediate offsets.
;;   rowptr:   i32[n + 1], absolute byte address of each row's first entry.
;;   entries:  (record address i32, value f32) pairs, 8 bytes per non-zero.
;;   emb:      (1 + S) vectors of stride floats: h, then u_s per sample.
;;   samples:  i32[S] local row ids; params: f32[3 S] = (c0, betaAnchor,
;;             betaSample) per sample, c0 = 0 meaning "skip"; dots: f32[S];
;;   norms:    f32[1 + S] squared norms; v: stride floats of scratch.
;; The padding lanes of W are 0 and of G are 1, so they never change.
;; Loops over the stride go by chunks of 4 vectors, then single vectors;
;; the stride is a multiple of 4 floats. The step uses the correctly rounded
;; f32x4.sqrt and f32x4.div by default; together they bound its speed (the
;; divider unit: about half of a phyletic_profiles epoch). With $approx set,
;; the step uses $stepApprox instead: a reciprocal square root by the bit
;; trick and one tuned Newton step, plain f32 multiplies and subtractions,
;; so it is as deterministic as the exact form and a scalar reference
;; (rsqrtApprox in kernel.ts) reproduces it bit for bit.
(module
  (memory (export "memory") 1)
  (global $sb (mut i32) (i32.const 16))
  (global $rowptr (mut i32) (i32.const 0))
  (global $emb (mut i32) (i32.const 0))
  (global $samples (mut i32) (i32.const 0))
  (global $params (mut i32) (i32.const 0))
  (global $dots (mut i32) (i32.const 0))
  (global $norms (mut i32) (i32.const 0))
  (global $v (mut i32) (i32.const 0))
  (global $approx (mut i32) (i32.const 0))

  (func (export "init") (param $sb i32) (param $rowptr i32) (param $emb i32) (param $samples i32)
        (param $params i32) (param $dots i32) (param $norms i32) (param $v i32) (param $approx i32)
    (global.set $sb (local.get $sb))
    (global.set $rowptr (local.get $rowptr))
    (global.set $emb (local.get $emb))
    (global.set $samples (local.get $samples))
    (global.set $params (local.get $params))
    (global.set $dots (local.get $dots))
    (global.set $norms (local.get $norms))
    (global.set $v (local.get $v))
    (global.set $approx (local.get $approx)))

  ;; out[0..stride) = sum over entries [e0, e1) of value * W[record]. Entries
  ;; outermost, so each record is read once while out stays in L1.
  (func $accumulate (export "accumulate") (param $out i32) (param $e0 i32) (param $e1 i32)
    (local $d i32) (local $w i32) (local $o i32) (local $x v128)
    (local.set $d (i32.const 0))
    (loop $zero
      (v128.store (i32.add (local.get $out) (local.get $d)) (v128.const i32x4 0 0 0 0))
      (br_if $zero (i32.lt_u (local.tee $d (i32.add (local.get $d) (i32.const 16))) (global.get $sb))))
    (block $done
      (loop $entries
        (br_if $done (i32.ge_u (local.get $e0) (local.get $e1)))
        (local.set $w (i32.load (local.get $e0)))
        (local.set $x (f32x4.splat (f32.load offset=4 (local.get $e0))))
        (local.set $o (local.get $out))
        (local.set $d (i32.const 0))
        (block $chunksDone
          (loop $chunks
            (br_if $chunksDone (i32.gt_u (i32.add (local.get $d) (i32.const 64)) (global.get $sb)))
            (v128.store offset=0 (local.get $o)
              (f32x4.add (v128.load offset=0 (local.get $o)) (f32x4.mul (local.get $x) (v128.load offset=0 (local.get $w)))))
            (v128.store offset=16 (local.get $o)
              (f32x4.add (v128.load offset=16 (local.get $o)) (f32x4.mul (local.get $x) (v128.load offset=32 (local.get $w)))))
            (v128.store offset=32 (local.get $o)
              (f32x4.add (v128.load offset=32 (local.get $o)) (f32x4.mul (local.get $x) (v128.load offset=64 (local.get $w)))))
            (v128.store offset=48 (local.get $o)
              (f32x4.add (v128.load offset=48 (local.get $o)) (f32x4.mul (local.get $x) (v128.load offset=96 (local.get $w)))))
            (local.set $o (i32.add (local.get $o) (i32.const 64)))
            (local.set $w (i32.add (local.get $w) (i32.const 128)))
            (local.set $d (i32.add (local.get $d) (i32.const 64)))
            (br $chunks)))
        (block $singlesDone
          (loop $singles
            (br_if $singlesDone (i32.ge_u (local.get $d) (global.get $sb)))
            (v128.store offset=0 (local.get $o)
              (f32x4.add (v128.load offset=0 (local.get $o)) (f32x4.mul (local.get $x) (v128.load offset=0 (local.get $w)))))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (local.set $w (i32.add (local.get $w) (i32.const 32)))
            (local.set $d (i32.add (local.get $d) (i32.const 16)))
            (br $singles)))
        (local.set $e0 (i32.add (local.get $e0) (i32.const 8)))
        (br $entries))))

  ;; <a, b> over the stride (lane sums added pairwise at the end).
  (func $dot (export "dot") (param $a i32) (param $b i32) (result f32)
    (local $d i32) (local $acc v128)
    (local.set $acc (v128.const i32x4 0 0 0 0))
    (local.set $d (i32.const 0))
    (loop $dims
      (local.set $acc (f32x4.add (local.get $acc)
        (f32x4.mul (v128.load (i32.add (local.get $a) (local.get $d)))
                   (v128.load (i32.add (local.get $b) (local.get $d))))))
      (br_if $dims (i32.lt_u (local.tee $d (i32.add (local.get $d) (i32.const 16))) (global.get $sb))))
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
      (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))

  ;; The gradient direction of cos(h1, h2) through h1, scaled:
  ;; v = c0 (h2 - beta h1) (accumulate = 0), or v += c0 (h2 - beta h1).
  (func $direction (export "direction") (param $h1 i32) (param $h2 i32) (param $c0 f32) (param $beta f32)
        (param $accumulate i32)
    (local $d i32) (local $c v128) (local $b v128) (local $t v128) (local $a i32)
    (local.set $c (f32x4.splat (local.get $c0)))
    (local.set $b (f32x4.splat (local.get $beta)))
    (local.set $d (i32.const 0))
    (loop $dims
      (local.set $a (i32.add (global.get $v) (local.get $d)))
      (local.set $t (f32x4.mul (local.get $c)
            (f32x4.sub (v128.load (i32.add (local.get $h2) (local.get $d)))
            (f32x4.mul (local.get $b) (v128.load (i32.add (local.get $h1) (local.get $d)))))))
      (if (local.get $accumulate)
        (then (local.set $t (f32x4.add (v128.load (local.get $a)) (local.get $t)))))
      (v128.store (local.get $a) (local.get $t))
      (br_if $dims (i32.lt_u (local.tee $d (i32.add (local.get $d) (i32.const 16))) (global.get $sb)))))

  ;; One AdaGrad ascent step along v for the entries [e0, e1) of a row:
  ;; for every feature f of the row and dimension d, g = x[f] v[d];
  ;; G[f,d] += g^2; W[f,d] += eta g / sqrt(G[f,d]) (IEEE sqrt and division).
  ;; Entries outermost, so each record is read and written once per step
  ;; (rows of hundreds of features overflow L1); v is re-read from L1.
  (func $step (export "step") (param $e0 i32) (param $e1 i32) (param $eta f32)
    (local $d i32) (local $w i32) (local $q i32) (local $x v128) (local $g v128) (local $gg v128)
    (local $e v128)
    (if (global.get $approx)
      (then (call $stepApprox (local.get $e0) (local.get $e1) (local.get $eta)) (return)))
    (local.set $e (f32x4.splat (local.get $eta)))
    (block $done
      (loop $entries
        (br_if $done (i32.ge_u (local.get $e0) (local.get $e1)))
        (local.set $w (i32.load (local.get $e0)))
        (local.set $x (f32x4.splat (f32.load offset=4 (local.get $e0))))
        (local.set $q (global.get $v))
        (local.set $d (i32.const 0))
        (block $chunksDone
          (loop $chunks
            (br_if $chunksDone (i32.gt_u (i32.add (local.get $d) (i32.const 64)) (global.get $sb)))
            (local.set $g (f32x4.mul (local.get $x) (v128.load offset=0 (local.get $q))))
            (local.set $gg (f32x4.add (v128.load offset=16 (local.get $w)) (f32x4.mul (local.get $g) (local.get $g))))
            (v128.store offset=16 (local.get $w) (local.get $gg))
            (v128.store offset=0 (local.get $w)
              (f32x4.add (v128.load offset=0 (local.get $w))
                (f32x4.div (f32x4.mul (local.get $e) (local.get $g)) (f32x4.sqrt (local.get $gg)))))
            (local.set $g (f32x4.mul (local.get $x) (v128.load offset=16 (local.get $q))))
            (local.set $gg (f32x4.add (v128.load offset=48 (local.get $w)) (f32x4.mul (local.get $g) (local.get $g))))
            (v128.store offset=48 (local.get $w) (local.get $gg))
            (v128.store offset=32 (local.get $w)
              (f32x4.add (v128.load offset=32 (local.get $w))
                (f32x4.div (f32x4.mul (local.get $e) (local.get $g)) (f32x4.sqrt (local.get $gg)))))
            (local.set $g (f32x4.mul (local.get $x) (v128.load offset=32 (local.get $q))))
            (local.set $gg (f32x4.add (v128.load offset=80 (local.get $w)) (f32x4.mul (local.get $g) (local.get $g))))
            (v128.store offset=80 (local.get $w) (local.get $gg))
            (v128.store offset=64 (local.get $w)
              (f32x4.add (v128.load offset=64 (local.get $w))
                (f32x4.div (f32x4.mul (local.get $e) (local.get $g)) (f32x4.sqrt (local.get $gg)))))
            (local.set $g (f32x4.mul (local.get $x) (v128.load offset=48 (local.get $q))))
            (local.set $gg (f32x4.add (v128.load offset=112 (local.get $w)) (f32x4.mul (local.get $g) (local.get $g))))
            (v128.store offset=112 (local.get $w) (local.get $gg))
            (v128.store offset=96 (local.get $w)
              (f32x4.add (v128.load offset=96 (local.get $w))
                (f32x4.div (f32x4.mul (local.get $e) (local.get $g)) (f32x4.sqrt (local.get $gg)))))
            (local.set $q (i32.add (local.get $q) (i32.const 64)))
            (local.set $w (i32.add (local.get $w) (i32.const 128)))
            (local.set $d (i32.add (local.get $d) (i32.const 64)))
            (br $chunks)))
        (block $singlesDone
          (loop $singles
            (br_if $singlesDone (i32.ge_u (local.get $d) (global.get $sb)))
            (local.set $g (f32x4.mul (local.get $x) (v128.load offset=0 (local.get $q))))
            (local.set $gg (f32x4.add (v128.load offset=16 (local.get $w)) (f32x4.mul (local.get $g) (local.get $g))))
            (v128.store offset=16 (local.get $w) (local.get $gg))
            (v128.store offset=0 (local.get $w)
              (f32x4.add (v128.load offset=0 (local.get $w))
                (f32x4.div (f32x4.mul (local.get $e) (local.get $g)) (f32x4.sqrt (local.get $gg)))))
            (local.set $q (i32.add (local.get $q) (i32.const 16)))
            (local.set $w (i32.add (local.get $w) (i32.const 32)))
            (local.set $d (i32.add (local.get $d) (i32.const 16)))
            (br $singles)))
        (local.set $e0 (i32.add (local.get $e0) (i32.const 8)))
        (br $entries))))

  ;; $step with 1 / sqrt(G) approximated by the bit trick and one tuned
  ;; Newton step (magic 0x5f1ffff9, k1 = 0.703952253, k2 = 2.38924456:
  ;; y = k1 y0 (k2 - G y0^2), relative error below 6.6e-4 for any normal G),
  ;; k1 folded into eta: W += ((eta k1) g) y0 (k2 - G (y0 y0)). Seven
  ;; multiplies and no divider use per 4 weights.
  (func $stepApprox (param $e0 i32) (param $e1 i32) (param $eta f32)
    (local $d i32) (local $w i32) (local $q i32) (local $x v128) (local $g v128) (local $gg v128)
    (local $e v128) (local $y v128) (local $magic v128) (local $k2 v128)
    (local.set $e (f32x4.splat (f32.mul (local.get $eta) (f32.const 0.703952253))))
    (local.set $magic (i32x4.splat (i32.const 0x5f1ffff9)))
    (local.set $k2 (f32x4.splat (f32.const 2.38924456)))
    (block $done
      (loop $entries
        (br_if $done (i32.ge_u (local.get $e0) (local.get $e1)))
        (local.set $w (i32.load (local.get $e0)))
        (local.set $x (f32x4.splat (f32.load offset=4 (local.get $e0))))
        (local.set $q (global.get $v))
        (local.set $d (i32.const 0))
        (block $chunksDone
          (loop $chunks
            (br_if $chunksDone (i32.gt_u (i32.add (local.get $d) (i32.const 64)) (global.get $sb)))
            (local.set $g (f32x4.mul (local.get $x) (v128.load offset=0 (local.get $q))))
            (local.set $gg (f32x4.add (v128.load offset=16 (local.get $w)) (f32x4.mul (local.get $g) (local.get $g))))
            (v128.store offset=16 (local.get $w) (local.get $gg))
            (local.set $y (i32x4.sub (local.get $magic) (i32x4.shr_u (local.get $gg) (i32.const 1))))
            (v128.store offset=0 (local.get $w)
              (f32x4.add (v128.load offset=0 (local.get $w))
                (f32x4.mul (f32x4.mul (f32x4.mul (local.get $e) (local.get $g)) (local.get $y))
                  (f32x4.sub (local.get $k2) (f32x4.mul (local.get $gg) (f32x4.mul (local.get $y) (local.get $y)))))))
            (local.set $g (f32x4.mul (local.get $x) (v128.load offset=16 (local.get $q))))
            (local.set $gg (f32x4.add (v128.load offset=48 (local.get $w)) (f32x4.mul (local.get $g) (local.get $g))))
            (v128.store offset=48 (local.get $w) (local.get $gg))
            (local.set $y (i32x4.sub (local.get $magic) (i32x4.shr_u (local.get $gg) (i32.const 1))))
            (v128.store offset=32 (local.get $w)
              (f32x4.add (v128.load offset=32 (local.get $w))
                (f32x4.mul (f32x4.mul (f32x4.mul (local.get $e) (local.get $g)) (local.get $y))
                  (f32x4.sub (local.get $k2) (f32x4.mul (local.get $gg) (f32x4.mul (local.get $y) (local.get $y)))))))
            (local.set $g (f32x4.mul (local.get $x) (v128.load offset=32 (local.get $q))))
            (local.set $gg (f32x4.add (v128.load offset=80 (local.get $w)) (f32x4.mul (local.get $g) (local.get $g))))
            (v128.store offset=80 (local.get $w) (local.get $gg))
            (local.set $y (i32x4.sub (local.get $magic) (i32x4.shr_u (local.get $gg) (i32.const 1))))
            (v128.store offset=64 (local.get $w)
              (f32x4.add (v128.load offset=64 (local.get $w))
                (f32x4.mul (f32x4.mul (f32x4.mul (local.get $e) (local.get $g)) (local.get $y))
                  (f32x4.sub (local.get $k2) (f32x4.mul (local.get $gg) (f32x4.mul (local.get $y) (local.get $y)))))))
            (local.set $g (f32x4.mul (local.get $x) (v128.load offset=48 (local.get $q))))
            (local.set $gg (f32x4.add (v128.load offset=112 (local.get $w)) (f32x4.mul (local.get $g) (local.get $g))))
            (v128.store offset=112 (local.get $w) (local.get $gg))
            (local.set $y (i32x4.sub (local.get $magic) (i32x4.shr_u (local.get $gg) (i32.const 1))))
            (v128.store offset=96 (local.get $w)
              (f32x4.add (v128.load offset=96 (local.get $w))
                (f32x4.mul (f32x4.mul (f32x4.mul (local.get $e) (local.get $g)) (local.get $y))
                  (f32x4.sub (local.get $k2) (f32x4.mul (local.get $gg) (f32x4.mul (local.get $y) (local.get $y)))))))
            (local.set $q (i32.add (local.get $q) (i32.const 64)))
            (local.set $w (i32.add (local.get $w) (i32.const 128)))
            (local.set $d (i32.add (local.get $d) (i32.const 64)))
            (br $chunks)))
        (block $singlesDone
          (loop $singles
            (br_if $singlesDone (i32.ge_u (local.get $d) (global.get $sb)))
            (local.set $g (f32x4.mul (local.get $x) (v128.load offset=0 (local.get $q))))
            (local.set $gg (f32x4.add (v128.load offset=16 (local.get $w)) (f32x4.mul (local.get $g) (local.get $g))))
            (v128.store offset=16 (local.get $w) (local.get $gg))
            (local.set $y (i32x4.sub (local.get $magic) (i32x4.shr_u (local.get $gg) (i32.const 1))))
            (v128.store offset=0 (local.get $w)
              (f32x4.add (v128.load offset=0 (local.get $w))
                (f32x4.mul (f32x4.mul (f32x4.mul (local.get $e) (local.get $g)) (local.get $y))
                  (f32x4.sub (local.get $k2) (f32x4.mul (local.get $gg) (f32x4.mul (local.get $y) (local.get $y)))))))
            (local.set $q (i32.add (local.get $q) (i32.const 16)))
            (local.set $w (i32.add (local.get $w) (i32.const 32)))
            (local.set $d (i32.add (local.get $d) (i32.const 16)))
            (br $singles)))
        (local.set $e0 (i32.add (local.get $e0) (i32.const 8)))
        (br $entries))))

  ;; h = x_anchor W, u_s = x_{samples[s]} W, dots[s] = <h, u_s>,
  ;; norms[0] = |h|^2, norms[1 + s] = |u_s|^2; all before any update.
  (func (export "forward") (param $anchor i32) (param $n i32)
    (local $s i32) (local $u i32) (local $r i32)
    (local.set $r (i32.add (global.get $rowptr) (i32.shl (local.get $anchor) (i32.const 2))))
    (call $accumulate (global.get $emb) (i32.load (local.get $r)) (i32.load offset=4 (local.get $r)))
    (f32.store (global.get $norms) (call $dot (global.get $emb) (global.get $emb)))
    (local.set $u (i32.add (global.get $emb) (global.get $sb)))
    (local.set $s (i32.const 0))
    (block $done
      (loop $samples
        (br_if $done (i32.ge_u (local.get $s) (local.get $n)))
        (local.set $r (i32.add (global.get $rowptr)
            (i32.shl (i32.load (i32.add (global.get $samples) (i32.shl (local.get $s) (i32.const 2)))) (i32.const 2))))
        (call $accumulate (local.get $u) (i32.load (local.get $r)) (i32.load offset=4 (local.get $r)))
        (f32.store (i32.add (global.get $dots) (i32.shl (local.get $s) (i32.const 2)))
            (call $dot (global.get $emb) (local.get $u)))
        (f32.store offset=4 (i32.add (global.get $norms) (i32.shl (local.get $s) (i32.const 2)))
            (call $dot (local.get $u) (local.get $u)))
        (local.set $u (i32.add (local.get $u) (global.get $sb)))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (br $samples))))

  ;; Exact per-sample AdaGrad: for every sample s with c0 != 0, the
  ;; anchor-side step, then the sample-side step, in sample order (the
  ;; original's order). params[s] = (c0, beta anchor side, beta sample side).
  (func (export "update") (param $anchor i32) (param $n i32) (param $eta f32)
    (local $s i32) (local $u i32) (local $r i32) (local $p i32) (local $a0 i32) (local $a1 i32)
    (local.set $r (i32.add (global.get $rowptr) (i32.shl (local.get $anchor) (i32.const 2))))
    (local.set $a0 (i32.load (local.get $r)))
    (local.set $a1 (i32.load offset=4 (local.get $r)))
    (local.set $u (i32.add (global.get $emb) (global.get $sb)))
    (local.set $p (global.get $params))
    (local.set $s (i32.const 0))
    (block $done
      (loop $samples
        (br_if $done (i32.ge_u (local.get $s) (local.get $n)))
        (if (f32.ne (f32.load (local.get $p)) (f32.const 0))
            (then
            (call $direction (global.get $emb) (local.get $u) (f32.load (local.get $p))
              (f32.load offset=4 (local.get $p)) (i32.const 0))
            (call $step (local.get $a0) (local.get $a1) (local.get $eta))
            (call $direction (local.get $u) (global.get $emb) (f32.load (local.get $p))
              (f32.load offset=8 (local.get $p)) (i32.const 0))
            (local.set $r (i32.add (global.get $rowptr)
              (i32.shl (i32.load (i32.add (global.get $samples) (i32.shl (local.get $s) (i32.const 2)))) (i32.const 2))))
            (call $step (i32.load (local.get $r)) (i32.load offset=4 (local.get $r)) (local.get $eta))))
        (local.set $u (i32.add (local.get $u) (global.get $sb)))
        (local.set $p (i32.add (local.get $p) (i32.const 12)))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (br $samples))))

  ;; The merged variant (option, not the default): ONE anchor-side step along
  ;; the sum of all samples' anchor directions, then every sample's own
  ;; sample-side step in sample order.
  (func (export "updateMerged") (param $anchor i32) (param $n i32) (param $eta f32)
    (local $s i32) (local $u i32) (local $r i32) (local $p i32) (local $any i32)
    (local.set $u (i32.add (global.get $emb) (global.get $sb)))
    (local.set $p (global.get $params))
    (local.set $s (i32.const 0))
    (block $done
      (loop $samples
        (br_if $done (i32.ge_u (local.get $s) (local.get $n)))
        (if (f32.ne (f32.load (local.get $p)) (f32.const 0))
            (then
            (call $direction (global.get $emb) (local.get $u) (f32.load (local.get $p))
              (f32.load offset=4 (local.get $p)) (local.get $any))
            (local.set $any (i32.const 1))))
        (local.set $u (i32.add (local.get $u) (global.get $sb)))
        (local.set $p (i32.add (local.get $p) (i32.const 12)))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (br $samples)))
    (if (local.get $any)
      (then
        (local.set $r (i32.add (global.get $rowptr) (i32.shl (local.get $anchor) (i32.const 2))))
        (call $step (i32.load (local.get $r)) (i32.load offset=4 (local.get $r)) (local.get $eta))))
    (local.set $u (i32.add (global.get $emb) (global.get $sb)))
    (local.set $p (global.get $params))
    (local.set $s (i32.const 0))
    (block $done
      (loop $samples
        (br_if $done (i32.ge_u (local.get $s) (local.get $n)))
        (if (f32.ne (f32.load (local.get $p)) (f32.const 0))
            (then
            (call $direction (local.get $u) (global.get $emb) (f32.load (local.get $p))
              (f32.load offset=8 (local.get $p)) (i32.const 0))
            (local.set $r (i32.add (global.get $rowptr)
              (i32.shl (i32.load (i32.add (global.get $samples) (i32.shl (local.get $s) (i32.const 2)))) (i32.const 2))))
            (call $step (i32.load (local.get $r)) (i32.load offset=4 (local.get $r)) (local.get $eta))))
        (local.set $u (i32.add (local.get $u) (global.get $sb)))
        (local.set $p (i32.add (local.get $p) (i32.const 12)))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (br $samples))))
)
