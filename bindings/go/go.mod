module github.com/sonde-sdk/sonde/bindings/go

go 1.19
