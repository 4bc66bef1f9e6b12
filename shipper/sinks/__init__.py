"""shipper.sinks"""
