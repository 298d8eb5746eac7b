// Reads a YAML or JSON stream as kubectl does (k8s.io/apimachinery's
// NewYAMLOrJSONDecoder over sigs.k8s.io/yaml) and prints each document as one
// line of JSON, or "error: ..." and exit 1.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

func main() {
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var object interface{}
		err := decoder.Decode(&object)
		if err == io.EOF {
			return
		}
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		if object == nil {
			continue
		}
		line, err := json.Marshal(object)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println(string(line))
	}
}
