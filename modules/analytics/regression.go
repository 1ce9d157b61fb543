package analytics

import (
	"errors"
	"math"
)

// ridge fits y ≈ b0 + Σ b_j x_j by least squares with a small ridge penalty
// toward zero on standardized features: the area-wide fit, where there is
// no wider prior to lean on.
func ridge(x [][]float64, y []float64, lambda float64) ([]float64, error) {
	return ridgeToward(x, y, nil, nil, lambda)
}

// ridgeToward fits y ≈ b0 + Σ b_j x_j by weighted least squares, with a
// ridge penalty that pulls each rate toward prior[j] rather than toward
// zero: where the local sales say little about a feature, its rate stays
// near the area-wide one instead of vanishing. Features are standardized
// (weighted) so one λ suits all of them; λ is relative to the total weight.
// It minimizes Σ w_i (y_i − b0 − x_i·b)² + λ·Σw·Σ_j sd_j² (b_j − prior_j)².
// weights and prior may be nil (all 1, all 0). It returns the rates in the
// features' own units, without the intercept.
func ridgeToward(x [][]float64, y, weights, prior []float64, lambda float64) ([]float64, error) {
	n := len(y)
	if n == 0 || len(x) != n {
		return nil, errors.New("regression: no data")
	}
	k := len(x[0])
	w := func(i int) float64 {
		if weights == nil {
			return 1
		}
		return weights[i]
	}
	var wsum, ymean float64
	mean := make([]float64, k)
	for i, row := range x {
		wsum += w(i)
		ymean += w(i) * y[i]
		for j, v := range row {
			mean[j] += w(i) * v
		}
	}
	if wsum <= 0 {
		return nil, errors.New("regression: no weight")
	}
	ymean /= wsum
	sd := make([]float64, k)
	for j := range mean {
		mean[j] /= wsum
	}
	for i, row := range x {
		for j, v := range row {
			sd[j] += w(i) * (v - mean[j]) * (v - mean[j]) / wsum
		}
	}
	for j := range sd {
		sd[j] = math.Sqrt(sd[j])
		if sd[j] == 0 {
			return nil, errors.New("regression: a feature does not vary")
		}
	}
	// Normal equations on standardized Z, c_j = b_j·sd_j:
	// (ZᵀWZ + λΣw I) c = ZᵀW(y − ȳ) + λΣw c_prior.
	a := make([][]float64, k)
	for i := range a {
		a[i] = make([]float64, k+1)
	}
	z := make([]float64, k)
	for r, row := range x {
		for j := range k {
			z[j] = (row[j] - mean[j]) / sd[j]
		}
		wr := w(r)
		for i := range k {
			for j := range k {
				a[i][j] += wr * z[i] * z[j]
			}
			a[i][k] += wr * z[i] * (y[r] - ymean)
		}
	}
	for i := range k {
		a[i][i] += lambda * wsum
		if prior != nil {
			a[i][k] += lambda * wsum * prior[i] * sd[i]
		}
	}
	b, err := solve(a)
	if err != nil {
		return nil, err
	}
	for j := range b {
		b[j] /= sd[j]
	}
	return b, nil
}

// solve solves the augmented system a (k×(k+1)) by Gaussian elimination
// with partial pivoting.
func solve(a [][]float64) ([]float64, error) {
	k := len(a)
	for c := range k {
		p := c
		for r := c + 1; r < k; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		if math.Abs(a[p][c]) < 1e-12 {
			return nil, errors.New("regression: singular system")
		}
		a[c], a[p] = a[p], a[c]
		for r := c + 1; r < k; r++ {
			f := a[r][c] / a[c][c]
			for j := c; j <= k; j++ {
				a[r][j] -= f * a[c][j]
			}
		}
	}
	b := make([]float64, k)
	for r := k - 1; r >= 0; r-- {
		s := a[r][k]
		for j := r + 1; j < k; j++ {
			s -= a[r][j] * b[j]
		}
		b[r] = s / a[r][r]
	}
	return b, nil
}
