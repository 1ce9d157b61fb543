package analytics

import (
	"errors"
	"math"
)

// ridge fits y ≈ b0 + Σ b_j x_j by least squares with a small ridge penalty
// on standardized features, which keeps the rates stable when features move
// together (bigger homes have more bedrooms). It returns the rates in the
// features' own units, without the intercept.
func ridge(x [][]float64, y []float64, lambda float64) ([]float64, error) {
	n := len(y)
	if n == 0 || len(x) != n {
		return nil, errors.New("regression: no data")
	}
	k := len(x[0])
	mean := make([]float64, k)
	sd := make([]float64, k)
	for _, row := range x {
		for j, v := range row {
			mean[j] += v / float64(n)
		}
	}
	for _, row := range x {
		for j, v := range row {
			sd[j] += (v - mean[j]) * (v - mean[j]) / float64(n)
		}
	}
	for j := range sd {
		sd[j] = math.Sqrt(sd[j])
		if sd[j] == 0 {
			return nil, errors.New("regression: a feature does not vary")
		}
	}
	var ymean float64
	for _, v := range y {
		ymean += v / float64(n)
	}
	// Normal equations (ZᵀZ + λnI) b = Zᵀ(y − ȳ) on standardized Z.
	a := make([][]float64, k)
	for i := range a {
		a[i] = make([]float64, k+1)
	}
	for r, row := range x {
		for i := range k {
			zi := (row[i] - mean[i]) / sd[i]
			for j := range k {
				a[i][j] += zi * (row[j] - mean[j]) / sd[j]
			}
			a[i][k] += zi * (y[r] - ymean)
		}
	}
	for i := range k {
		a[i][i] += lambda * float64(n)
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
