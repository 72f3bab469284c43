module github.com/sonde-sdk/sonde/bindings/go/sondeslog

go 1.19

require (
	github.com/sonde-sdk/sonde/bindings/go v0.0.0
	golang.org/x/exp v0.0.0-20221028150844-83b7d23a625f
)

replace github.com/sonde-sdk/sonde/bindings/go => ../
