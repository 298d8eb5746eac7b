package echopb

// PodTrailer is the trailer in which the server names its pod on every call,
// failed ones included, so a client can count failures per replica too.
// (Written by hand, beside the generated code: part of the service's contract.)
const PodTrailer = "weft-pod"
